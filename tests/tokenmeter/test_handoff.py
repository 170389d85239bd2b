"""Tests for tokenmeter.handoff: the service's side of the ``tokenmeter topup`` socket,
on a real core (simulated meter and keypad, real mosquitto, SQLite)."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.topup_rig import fault_config, start_core
from tests.tokenmeter.services.simkit import token
from tokenmeter.app import Core
from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import TopUpStatus
from tokenmeter.handoff import (
    MAX_REQUEST_BYTES,
    REFUSED_SECRET,
    SECRET_FILE,
    SOCKET_FILE,
    TopUpHandoff,
)


@pytest.fixture
async def core(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Core]:
    started, _ = await start_core(fault_config(tmp_path, broker.url), tmp_path)
    yield started
    await started.stop()


@pytest.fixture
async def handoff(core: Core) -> AsyncIterator[TopUpHandoff]:
    taking = TopUpHandoff(core.config, core.topups, core.bus)
    await taking.start()
    yield taking
    await taking.stop()


async def _exchange(path: Path, raw: bytes) -> list[dict[str, Any]]:
    """Send ``raw`` on the socket and read every answer until it closes."""
    reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 20)
    writer.write(raw)
    await writer.drain()
    answers = [
        json.loads(line) for line in (await asyncio.wait_for(reader.read(), 30)).splitlines()
    ]
    writer.close()
    return answers


def _request(secret: str, digits: str, meter: str = "rumah") -> bytes:
    body = {"secret": secret, "meter": meter, "token": digits, "lang": "en"}
    return json.dumps(body).encode() + b"\n"


async def test_a_request_is_refused_without_the_secret_before_its_token_is_used(
    tmp_path: Path, core: Core, handoff: TopUpHandoff
) -> None:
    """A wrong secret, no secret, not JSON, a line too long, JSON nested too deep: each
    gets one refusal and nothing is stored; a proper request afterwards is served."""
    digits = token(81)
    bad = [
        _request("0" * 64, digits),
        b'{"meter": "rumah"}\n',
        b"not json\n",
        b"[" * (MAX_REQUEST_BYTES - 10) + b"\n",
        b"x" * (MAX_REQUEST_BYTES * 4) + b"\n",
    ]
    for raw in bad:
        answers = await _exchange(handoff.path, raw)
        assert [a["refused"]["code"] for a in answers] == [REFUSED_SECRET], raw[:40]
    assert core.store.list_topups("rumah") == []
    secret = (tmp_path / SECRET_FILE).read_text(encoding="ascii")
    answers = await _exchange(handoff.path, _request(secret, digits))
    done = answers[-1]["done"]
    assert done["status"] == TopUpStatus.CONFIRMED.value and done["masked"].endswith(digits[-4:])
    assert answers[0]["say"].startswith("[rumah] Token ****-****-****-****-")
    assert digits not in json.dumps(answers)


async def test_a_refused_token_comes_back_as_its_error(
    tmp_path: Path, core: Core, handoff: TopUpHandoff
) -> None:
    """A token the service refuses (too short, unknown meter) is answered with the
    error's code and reason, and nothing is stored."""
    secret = (tmp_path / SECRET_FILE).read_text(encoding="ascii")
    (short,) = await _exchange(handoff.path, _request(secret, "12345"))
    assert short["refused"]["code"] == "invalid_token"
    assert short["refused"]["reason"] == "length" and short["refused"]["params"] == {"count": 5}
    (unknown,) = await _exchange(handoff.path, _request(secret, token(82), meter="nope"))
    assert unknown["refused"]["code"] == "unknown_meter"
    assert core.store.list_topups("rumah") == []


async def test_the_socket_and_secret_are_private_and_gone_after_stop(
    tmp_path: Path, core: Core
) -> None:
    """Both files are 0600 while it listens, a new secret each start, none after stop."""
    taking = TopUpHandoff(core.config, core.topups, core.bus)
    secrets = []
    for _ in range(2):
        await taking.start()
        assert taking.listening
        for name in (SOCKET_FILE, SECRET_FILE):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        secrets.append((tmp_path / SECRET_FILE).read_text(encoding="ascii"))
        await taking.stop()
        assert not (tmp_path / SOCKET_FILE).exists() and not (tmp_path / SECRET_FILE).exists()
    assert secrets[0] != secrets[1]


async def test_a_stale_socket_is_replaced_and_a_live_one_left_alone(
    tmp_path: Path, core: Core
) -> None:
    """A socket file nobody listens on (a killed service) is taken over; one another
    service listens on is not, and stopping the second leaves the first working."""
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(tmp_path / SOCKET_FILE))
    stale.close()
    first = TopUpHandoff(core.config, core.topups, core.bus)
    second = TopUpHandoff(core.config, core.topups, core.bus)
    await first.start()
    try:
        assert first.listening
        await second.start()
        assert not second.listening
        await second.stop()
        secret = (tmp_path / SECRET_FILE).read_text(encoding="ascii")
        (answer,) = await _exchange(first.path, _request(secret, "1"))
        assert answer["refused"]["code"] == "invalid_token"
    finally:
        await first.stop()


async def test_a_data_folder_too_deep_for_a_socket_turns_the_handoff_off(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A socket path over the system's limit: the hand-off is off (logged), nothing fails."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    config: Config = fault_config(deep, broker.url)
    started, _ = await start_core(config, deep)
    try:
        taking = TopUpHandoff(config, started.topups, started.bus)
        await taking.start()
        assert not taking.listening and not (deep / SOCKET_FILE).exists()
        await taking.stop()
    finally:
        await started.stop()
