"""Tests for bot.blynk.mqtt_transport against a real mosquitto playing Blynk.Cloud."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from bot.blynk.mqtt_transport import BlynkMqttTransport, parse_redirect
from tests.bot.blynk.conftest import AUTH_TOKEN, BlynkCloudSide
from tokenmeter.devices.broker import LocalBroker


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _transport(broker: LocalBroker) -> BlynkMqttTransport:
    return BlynkMqttTransport(host=broker.host, port=broker.port, auth_token=AUTH_TOKEN, tls=False)


def test_app_writes_arrive_and_values_are_published(cloud: BlynkCloudSide) -> None:
    """downlink/ds/<name> reaches the handler as text; write() publishes ds/<name>."""
    writes: list[tuple[str, str]] = []
    transport = _transport(cloud.broker)
    transport.start(lambda pin, value: writes.append((pin, value)))
    try:
        assert transport.wait_connected(10)
        cloud.app_write("Token Entry", "9876")
        cloud.app_write("V0", "first\0second")
        cloud.app_write("", "reboot please", topic="downlink/reboot")
        assert _wait(lambda: ("V0", "first") in writes)
        assert ("Token Entry", "9876") in writes
        assert not any(value == "reboot please" for _, value in writes)
        transport.write("V1", "Token diterima")
        assert _wait(lambda: cloud.last("V1") == "Token diterima")
    finally:
        transport.stop()
    assert not transport.connected


def test_writes_made_while_offline_go_out_after_connecting(own_broker: LocalBroker) -> None:
    """A value written before the broker is reachable is published once connected."""
    own_broker.stop()
    transport = _transport(own_broker)
    transport.start(lambda pin, value: None)
    try:
        transport.write("V1", "queued while offline")
        time.sleep(0.3)
        own_broker.start()
        cloud = BlynkCloudSide(own_broker).start()
        try:
            assert transport.wait_connected(15)
            assert _wait(lambda: cloud.last("V1") == "queued while offline", 15)
        finally:
            cloud.stop()
    finally:
        transport.stop()


def test_reconnects_and_resubscribes_after_broker_restart(own_broker: LocalBroker) -> None:
    """After the broker comes back the transport subscribes to downlink/# again."""
    writes: list[tuple[str, str]] = []
    transport = _transport(own_broker)
    transport.start(lambda pin, value: writes.append((pin, value)))
    try:
        assert transport.wait_connected(10)
        own_broker.stop()
        assert _wait(lambda: not transport.connected)
        own_broker.start()
        assert transport.wait_connected(15)
        cloud = BlynkCloudSide(own_broker).start()
        try:
            cloud.app_write("V0", "after restart")
            assert _wait(lambda: ("V0", "after restart") in writes)
        finally:
            cloud.stop()
    finally:
        transport.stop()


def test_follows_a_server_redirect(cloud: BlynkCloudSide, own_broker: LocalBroker) -> None:
    """downlink/redirect host:port moves the device to that server."""
    writes: list[tuple[str, str]] = []
    transport = _transport(cloud.broker)
    transport.start(lambda pin, value: writes.append((pin, value)))
    regional = BlynkCloudSide(own_broker).start()
    try:
        assert transport.wait_connected(10)
        cloud.app_write("", f"{own_broker.host}:{own_broker.port}", topic="downlink/redirect")
        assert _wait(lambda: transport.port == own_broker.port and transport.connected)
        transport.write("V2", "12.50")
        assert _wait(lambda: regional.last("V2") == "12.50")
    finally:
        regional.stop()
        transport.stop()


def test_logs_in_as_device_with_the_auth_token() -> None:
    """The CONNECT packet carries username 'device' and the auth token as password."""
    received = bytearray()
    got = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                received.extend(conn.recv(1024))
                got.set()

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        transport = BlynkMqttTransport(
            host="127.0.0.1", port=port, auth_token=AUTH_TOKEN, tls=False
        )
        transport.start(lambda pin, value: None)
        try:
            assert got.wait(10)
        finally:
            transport.stop()
            thread.join(5)
    assert received[0] >> 4 == 1  # CONNECT
    assert b"\x00\x06device" in received
    assert b"\x00" + bytes([len(AUTH_TOKEN)]) + AUTH_TOKEN.encode() in received


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("ny3.blynk.cloud:8883", ("ny3.blynk.cloud", 8883)),
        ("mqtts://sgp1.blynk.cloud:8883/", ("sgp1.blynk.cloud", 8883)),
        ("fra1.blynk.cloud", ("fra1.blynk.cloud", 8883)),
        ("10.0.0.7:1883", ("10.0.0.7", 1883)),
        ("[2001:db8::1]:8883", ("2001:db8::1", 8883)),
        ("host:notaport", None),
        (":8883", None),
        ("host:", None),
        ("host:0", None),
        ("host:65536", None),
        ("host:\u00b2", None),  # a digit to str.isdigit(), not to int()
        ("host:" + "9" * 5000, None),
        ("evil host;reboot:8883", None),
        ("-lead.example:8883", None),
        ("http://ny3.blynk.cloud:8883", None),
        ("b\u00fccher.example:8883", None),
        ("[not-ipv6]:8883", None),
        ("a" * 64 + ".cloud", None),
        ("a." * 200 + "cloud", None),
    ],
)
def test_parse_redirect(payload: str, expected: tuple[str, int] | None) -> None:
    """Redirect payloads give host and port; junk gives None."""
    assert parse_redirect(payload, 8883) == expected
