"""Tests for bot.blynk.legacy_transport: blynklib against a local legacy Blynk server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from bot.blynk.door import BlynkDoor
from bot.blynk.legacy_transport import BlynkLegacyTransport
from tests.bot.blynk.conftest import METER, VALID_TOKEN, StandInTopUps, eventually
from tests.servers.blynk_legacy import LegacyBlynkServer
from tokenmeter.domain import normalize_token
from tokenmeter.errors import ConfigError
from tokenmeter.events import EventBus

LEGACY_TOKEN = "legacy-auth-token"


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def server() -> Iterator[LegacyBlynkServer]:
    """A legacy Blynk server on a free port."""
    with LegacyBlynkServer(LEGACY_TOKEN) as running:
        yield running


def _transport(server: LegacyBlynkServer, token: str = LEGACY_TOKEN) -> BlynkLegacyTransport:
    return BlynkLegacyTransport(
        host=server.host, port=server.port, auth_token=token, listen_pins=["V0"], heartbeat_s=2
    )


def test_login_heartbeat_app_writes_and_virtual_writes(server: LegacyBlynkServer) -> None:
    """Logs in (200), sends heartbeat settings, gets V0 writes, and writes V1 back."""
    writes: list[tuple[str, str]] = []
    transport = _transport(server)
    transport.start(lambda pin, value: writes.append((pin, value)))
    try:
        assert transport.wait_connected(10)
        assert _wait(lambda: server.device_ready)
        assert server.logins == 1
        settings = server.internal[0]
        assert settings[settings.index("h-beat") + 1] == "2"
        assert "buff-in" in settings
        server.app_write(0, "12345")
        server.app_write(5, "not listened to")
        server.app_write(0, "67890")
        assert _wait(lambda: ("V0", "67890") in writes)
        assert writes == [("V0", "12345"), ("V0", "67890")]
        transport.write("V1", "Token diterima")
        transport.write("V3", "PENDING")
        assert _wait(lambda: server.values(3) == ["PENDING"])
        assert server.values(1) == ["Token diterima"]
        assert _wait(lambda: server.pings >= 1, 5)  # idle: blynklib pings, the server answers
        assert transport.connected
    finally:
        transport.stop()
    assert not transport.connected


def test_stop_disconnects_cleanly(server: LegacyBlynkServer) -> None:
    """stop() ends the thread and the server sees the device go."""
    transport = _transport(server)
    transport.start(lambda pin, value: None)
    assert _wait(lambda: server.device_ready)
    assert transport.running
    transport.stop()
    assert _wait(lambda: not server.device_ready)
    assert not transport.running


def test_wrong_auth_token_is_refused_and_retried(server: LegacyBlynkServer) -> None:
    """A refused login (status 9) leaves it disconnected, retrying with backoff."""
    transport = _transport(server, token="wrong-token")
    transport.start(lambda pin, value: None)
    try:
        assert _wait(lambda: server.refused_logins >= 2, 8)
        assert not transport.connected
        assert server.logins == 0
    finally:
        transport.stop()


def test_reconnects_and_sends_writes_made_while_offline(server: LegacyBlynkServer) -> None:
    """A dropped connection is noticed; the latest value per pin goes out after logging in
    again, and app writes arrive again."""
    writes: list[tuple[str, str]] = []
    transport = BlynkLegacyTransport(
        host=server.host,
        port=server.port,
        auth_token=LEGACY_TOKEN,
        listen_pins=["V0"],
        reconnect_max_delay=0.5,
    )
    transport.start(lambda pin, value: writes.append((pin, value)))
    try:
        assert _wait(lambda: server.device_ready)
        server.accepting = False
        server.drop_devices()
        assert _wait(lambda: not transport.connected, 5)
        transport.write("V1", "old")
        transport.write("V1", "while offline")
        transport.write("V3", "QUEUED")
        server.accepting = True
        assert _wait(lambda: server.logins == 2 and server.device_ready, 10)
        assert _wait(lambda: server.values(3) == ["QUEUED"])
        assert server.values(1) == ["while offline"]
        server.app_write(0, "again")
        assert _wait(lambda: ("V0", "again") in writes)
    finally:
        transport.stop()


def test_only_virtual_pins_are_accepted() -> None:
    """A datastream name that is not V<n> is a configuration error for legacy servers."""
    with pytest.raises(ConfigError):
        BlynkLegacyTransport(host="h", port=1, auth_token="t", listen_pins=["Token"])


async def test_door_over_legacy_server(server: LegacyBlynkServer) -> None:
    """A token written on V0 of a legacy server is topped up; states appear on V3 and V1."""
    bus = EventBus()
    topups = StandInTopUps(bus)
    door = BlynkDoor(_transport(server), topups, bus, meter_id=METER.id)
    await door.start()
    try:
        await eventually(lambda: server.device_ready)
        server.app_write(0, VALID_TOKEN)
        await eventually(lambda: "CONFIRMED" in server.values(3))
        assert topups.typed == [normalize_token(VALID_TOKEN)]
        success = "Berhasil: token ****-****-****-****-7890"
        await eventually(lambda: server.values(1)[-1].startswith(success))  # V1 follows V3
        await eventually(lambda: server.values(2)[-1:] == ["37.50"])  # V2 follows V1
        server.app_write(0, VALID_TOKEN)  # a repeat: ignored
        server.app_write(0, "12345678901234567890123")  # 23 digits
        await eventually(lambda: "REJECTED" in server.values(3))
        shown = "Token harus 20 digit, yang dikirim 23 digit."
        await eventually(lambda: server.values(1)[-1] == shown)  # V1 follows V3
        assert topups.typed == [normalize_token(VALID_TOKEN)]
    finally:
        await door.stop()
