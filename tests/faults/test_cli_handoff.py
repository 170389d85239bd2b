"""Faults: ``tokenmeter topup`` while the service runs (finding 7 of issue 27).

A CLI that drove the keypad itself beside a running service queued its token where
nobody typed it and told Telegram nothing. With a service running, the command hands
the top-up to it over the socket beside the data: the service announces it on
Telegram, types it once (or keeps it queued while the keypad is away, and types it
when it returns), and the command prints the service's stages and result. A request
without the service's secret is refused and nothing is typed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.conftest import tokenmeter_command
from tests.faults.conftest import OWNER, PARTNER
from tests.faults.topup_rig import status
from tests.servers.telegram_api import FakeBotApi
from tests.tokenmeter.services.simkit import ShownReader, eventually, token
from tokenmeter.config import load_config
from tokenmeter.devices.broker import free_port
from tokenmeter.domain import TopUpStatus, mask_token
from tokenmeter.handoff import SECRET_FILE, SOCKET_FILE
from tokenmeter.service import Service, build_service
from tokenmeter.services.topup_vault import VAULT_FILE
from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter

CLI_LIMIT_S = 90.0  # a top-up with the simulated keypad takes a few seconds
PREFIX = "tokenmeter"


@dataclass
class Hardware:
    """Meter ``rumah`` as the service meets real hardware: its camera over HTTP, its
    keypad a separate MQTT client (started by the test, on the service's broker)."""

    meter: SimulatedMeter
    camera: SimulatedCameraServer
    keypads: list[SimulatedKeypadDevice] = field(default_factory=list)

    def keypad(self, broker_url: str) -> SimulatedKeypadDevice:
        """A keypad that comes online on ``broker_url``."""
        device = SimulatedKeypadDevice(self.meter, broker_url, prefix=PREFIX, time_scale=0.01)
        device.start()
        self.keypads.append(device)
        return device

    def stop(self) -> None:
        for device in self.keypads:
            device.stop()
        self.camera.stop()


@pytest.fixture
def hardware() -> Iterator[Hardware]:
    meter = SimulatedMeter("rumah")
    rig = Hardware(meter, SimulatedCameraServer(meter).start())
    yield rig
    rig.stop()


def _config_file(tmp_path: Path, camera_url: str, api: FakeBotApi) -> Path:
    """One config for the service and the command: the service's own broker (no
    ``mqtt.url``), meter ``rumah`` on ``camera_url``, Telegram on ``api``."""
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[store]
sqlite_path = "{tmp_path / "tm.db"}"
photo_dir = "{tmp_path / "photos"}"

[mqtt]
prefix = "{PREFIX}"

[checks]
camera_timeout_s = 2.0
camera_retries = 1

[topup]
result_timeout_s = 5.0
settle_s = 0.05

[telegram]
token = "{api.token}"
api_base_url = "{api.base_url}"
allowed_chats = [{OWNER}, {PARTNER}]

[service]
health_port = {free_port()}

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "{camera_url}"
schedule = []
""",
        encoding="utf-8",
    )
    return path


async def _running(config: Path, hardware: Hardware, *, keypad: bool = True) -> Service:
    """The service on ``config``, started, its checks reading the display exactly,
    Telegram polling and (with ``keypad``) the keypad online on its broker."""
    service = build_service(load_config(config))
    reader = ShownReader()
    reader.watch(hardware.meter)
    service.core.checks.reader = reader
    await service.start()
    telegram, broker = service.telegram, service.core.broker
    assert telegram is not None and broker is not None
    assert await eventually(lambda: telegram.polling, 15), "Telegram did not start polling"
    if keypad:
        hardware.keypad(broker.url)
        assert await eventually(lambda: service.core.keypad.is_online("rumah"), 10)
    return service


async def _topup_cli(config: Path, digits: str, *args: str) -> tuple[int, str, str]:
    """``tokenmeter topup - ARGS`` in its own process, the token on standard input:
    the exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *tokenmeter_command(),
        "topup",
        "-",
        "--config",
        str(config),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(f"{digits}\n".encode()), CLI_LIMIT_S)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _announced(api: FakeBotApi, digits: str) -> bool:
    """Whether every allowed chat got a message saying the command line started the
    top-up, with the masked token."""
    texts = [c for c in api.calls if c.method in ("sendMessage", "editMessageText")]
    told = {c.chat_id for c in texts if "baris perintah" in c.text and mask_token(digits) in c.text}
    return told >= {OWNER, PARTNER}


def _never_in_clear(api: FakeBotApi, digits: str) -> bool:
    return all(digits not in json.dumps(c.params, default=str) for c in api.calls)


async def test_the_cli_hands_its_top_up_to_the_running_service(
    tmp_path: Path, hardware: Hardware, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    """``tokenmeter topup`` with a service on its own broker running: the service types
    the token once, announces it on Telegram, and the command prints the service's
    stages and the confirmed result; the service logs the token masked only (at
    DEBUG); the socket and the secret are 0600, and gone when the service stops."""
    caplog.set_level(logging.DEBUG)
    config = _config_file(tmp_path, hardware.camera.url, api)
    service = await _running(config, hardware)
    digits = token(71)
    try:
        for name in (SOCKET_FILE, SECRET_FILE):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        code, out, err = await _topup_cli(config, digits)
        assert code == 0, (out, err)
        lines = out.splitlines()
        assert "dicatat. Membaca saldo awal" in lines[0], out
        assert any("sedang diketik di meter" in line for line in lines), out
        assert "berhasil" in lines[-1], out
        assert digits not in out + err
        core = service.core
        (topup,) = core.store.list_topups("rumah")
        assert topup.source == "cli" and topup.status is TopUpStatus.CONFIRMED
        assert [k.commands_pressed for k in hardware.keypads] == [1]
        assert hardware.meter.tokens_accepted == 1
        assert await api.until(lambda: _announced(api, digits), 10), [
            c.text for c in api.calls if c.method == "sendMessage"
        ]
        assert _never_in_clear(api, digits)
    finally:
        await service.stop()
    assert not (tmp_path / SOCKET_FILE).exists() and not (tmp_path / SECRET_FILE).exists()
    assert "taken from the command line" in caplog.text and digits not in caplog.text


async def test_a_request_without_the_services_secret_is_refused(
    tmp_path: Path, hardware: Hardware, api: FakeBotApi
) -> None:
    """A secret file that is not the running service's (a stale or forged one): the
    command is refused in words, exit 2, and nothing is stored or typed."""
    config = _config_file(tmp_path, hardware.camera.url, api)
    service = await _running(config, hardware)
    try:
        (tmp_path / SECRET_FILE).write_text("0" * 64, encoding="ascii")
        code, out, err = await _topup_cli(config, token(72), "--json")
        assert code == 2, (out, err)
        refusal = json.loads(out)
        assert refusal["status"] == "REFUSED" and refusal["error"] == "handoff_failed"
        assert refusal["reason"] == "refused" and "Tidak ada yang diketik" in refusal["message"]
        assert service.core.store.list_topups("rumah") == []
        assert [k.commands_pressed for k in hardware.keypads] == [0]
        assert hardware.meter.tokens_accepted == 0
    finally:
        await service.stop()


async def test_with_the_keypad_offline_the_service_keeps_the_token_and_types_it_later(
    tmp_path: Path, hardware: Hardware, api: FakeBotApi
) -> None:
    """Keypad away: the command reports QUEUED (exit 5) from the service, which
    announces it, keeps the token encrypted and types it once, confirmed, when the
    keypad comes."""
    config = _config_file(tmp_path, hardware.camera.url, api)
    service = await _running(config, hardware, keypad=False)
    core = service.core
    digits = token(73)
    try:
        code, out, err = await _topup_cli(config, digits, "--json")
        assert code == 5, (out, err)
        result = json.loads(out)
        assert result["status"] == "QUEUED" and result["token"] == mask_token(digits)
        vault = (tmp_path / VAULT_FILE).read_text(encoding="utf-8")
        assert len(json.loads(vault)) == 1 and digits not in vault
        assert await api.until(lambda: _announced(api, digits), 10)
        assert core.broker is not None
        device = hardware.keypad(core.broker.url)
        assert await eventually(lambda: status(core, result["id"]) is TopUpStatus.CONFIRMED, 30), (
            core.store.get_topup("rumah", result["id"])
        )
        assert device.commands_pressed == 1
        assert hardware.meter.tokens_accepted == 1
        assert json.loads((tmp_path / VAULT_FILE).read_text(encoding="utf-8")) == {}
        assert _never_in_clear(api, digits)
    finally:
        await service.stop()
