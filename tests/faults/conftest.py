"""What the fault tests that run a whole service share: a fake Bot API, a config
with Telegram and Blynk pointed at the test servers, and a ``/healthz`` request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.bot.blynk.conftest import AUTH_TOKEN
from tests.servers.telegram_api import FakeBotApi
from tests.tokenmeter.services.simkit import ShownReader, sim_config
from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker, free_port
from tokenmeter.service import Service

OWNER, PARTNER = 1001, 1002


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


def service_config(
    tmp_path: Path, broker: LocalBroker, *, api: FakeBotApi | None = None, blynk: bool = False
) -> Config:
    """A simulated-meter config with its own health port; Telegram on ``api`` (the
    owner and partner allowed) when given, Blynk over MQTT on ``broker`` if ``blynk``."""
    config = sim_config(tmp_path, broker.url)
    config.service.health_port = free_port()
    if api is not None:
        config.telegram.token = SecretStr(api.token)
        config.telegram.api_base_url = api.base_url
        config.telegram.allowed_chats = [OWNER, PARTNER]
    if blynk:
        config.blynk.transport = "mqtt"
        config.blynk.auth_token = SecretStr(AUTH_TOKEN)
        config.blynk.server, config.blynk.port, config.blynk.tls = broker.host, broker.port, False
    return config


def read_shown(service: Service) -> Service:
    """Have the checks read the simulated display of ``rumah`` exactly (no OCR)."""
    reader = ShownReader()
    reader.watch(service.core.sim_meters["rumah"])
    service.core.checks.reader = reader
    return service


async def healthz(port: int) -> tuple[int, dict[str, object]]:
    """The status code and JSON body of ``GET /healthz`` on ``port``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)
