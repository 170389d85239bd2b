"""Tests for tokenmeter.devices.mqtt against a real mosquitto."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.mqtt import BrokerAddress, MqttLink, guarded
from tokenmeter.errors import BrokerUnavailable


def _wait(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_broker_address_parsing() -> None:
    """mqtt:// and mqtts:// URLs give host, port and TLS; junk is refused."""
    assert BrokerAddress.parse("mqtt://h") == BrokerAddress("h", 1883, False)
    assert BrokerAddress.parse("mqtts://h:9000") == BrokerAddress("h", 9000, True)
    with pytest.raises(BrokerUnavailable):
        BrokerAddress.parse("http://h")


def test_prefix_added_in_one_place(broker: LocalBroker) -> None:
    """topic() and split() are inverse and honour the prefix."""
    link = MqttLink(broker.url, prefix="/pfx/")
    assert link.topic("rumah", "keypad/cmd") == "pfx/rumah/keypad/cmd"
    assert link.split("pfx/rumah/keypad/cmd") == ("rumah", "keypad/cmd")
    assert link.split("other/rumah/x") is None


def test_publish_subscribe_and_malformed_payloads(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """JSON objects reach handlers; malformed payloads are logged and ignored."""
    received: list[tuple[str, str, dict[str, Any]]] = []
    link = MqttLink(broker.url, prefix="t1")
    link.subscribe("+", "event", lambda m, leaf, p: received.append((m, leaf, p)))
    link.start()
    try:
        assert link.wait_connected(10)
        time.sleep(0.2)  # let the SUBSCRIBE land
        raw = mqtt.Client(CallbackAPIVersion.VERSION2)
        raw.connect(broker.host, broker.port)
        raw.loop_start()
        raw.publish("t1/kamar1/event", b"{not json", qos=1).wait_for_publish(5)
        raw.publish("t1/kamar1/event", b"[1,2]", qos=1).wait_for_publish(5)
        link.publish("kamar2", "event", {"type": "beep"}).wait_for_publish(5)
        assert _wait(lambda: len(received) >= 1)
        time.sleep(0.2)
        raw.loop_stop()
        raw.disconnect()
        assert received == [("kamar2", "event", {"type": "beep"})]
        assert "malformed MQTT payload" in caplog.text
        assert "not a JSON object" in caplog.text
    finally:
        link.stop()


def test_a_failing_handler_is_logged_and_the_link_goes_on(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises is logged at WARNING with the topic and where it raised (not
    its message); the next message is still delivered."""
    secret = "12345678901234567890"
    received: list[dict[str, Any]] = []

    def handler(meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        if "keys" in payload:
            raise KeyError(payload["keys"])
        received.append(payload)

    link = MqttLink(broker.url, prefix="t5")
    link.subscribe("m", "event", handler)
    link.start()
    try:
        assert link.wait_connected(10)
        time.sleep(0.2)  # let the SUBSCRIBE land
        link.publish("m", "event", {"keys": secret}).wait_for_publish(5)
        link.publish("m", "event", {"type": "beep"}).wait_for_publish(5)
        assert _wait(lambda: received == [{"type": "beep"}])
    finally:
        link.stop()
    (warning,) = [r for r in caplog.records if "handler for t5/m/event failed" in r.getMessage()]
    assert warning.levelname == "WARNING" and "KeyError at test_mqtt.py:" in warning.getMessage()
    assert secret not in caplog.text


def test_guarded_callbacks_log_instead_of_raising(caplog: pytest.LogCaptureFixture) -> None:
    """guarded() turns an exception into one WARNING naming the callback."""

    def on_connect(value: int) -> None:
        raise RecursionError(f"secret {value}")

    guarded(on_connect, logging.getLogger("test"))(7)
    assert "MQTT callback on_connect failed: RecursionError at test_mqtt.py:" in caplog.text
    assert "secret" not in caplog.text


def test_reconnects_and_resubscribes_after_broker_restart(own_broker: LocalBroker) -> None:
    """After the broker comes back, the link reconnects and its subscriptions work again."""
    got = threading.Event()
    states: list[bool] = []
    link = MqttLink(own_broker.url, prefix="t2")
    link.on_connection_change(states.append)
    link.subscribe("m", "status", lambda m, leaf, p: got.set())
    link.start()
    try:
        assert link.wait_connected(10)
        own_broker.stop()
        assert _wait(lambda: not link.connected)
        own_broker.start()
        assert _wait(lambda: link.connected, timeout=40)
        time.sleep(0.3)
        pub = MqttLink(own_broker.url, prefix="t2")
        pub.start()
        assert pub.wait_connected(10)
        pub.publish("m", "status", {"online": True}).wait_for_publish(5)
        pub.stop()
        assert got.wait(10)
        assert states[:3] == [True, False, True]
    finally:
        link.stop()


def test_last_will_is_published_when_link_dies(broker: LocalBroker) -> None:
    """An abrupt disconnect makes the broker publish the retained last will."""
    dying = MqttLink(broker.url, prefix="t3", will=("m", "status", {"online": False}), keepalive=2)
    dying.start()
    assert dying.wait_connected(10)
    sock = dying.client.socket()
    assert sock is not None  # connected
    sock.close()  # abrupt: no DISCONNECT packet
    dying.client.loop_stop()
    seen: list[dict[str, Any]] = []
    watcher = MqttLink(broker.url, prefix="t3")
    watcher.subscribe("m", "status", lambda m, leaf, p: seen.append(p))
    watcher.start()
    try:
        assert _wait(lambda: {"online": False} in seen, timeout=15)
    finally:
        watcher.stop()


def _certificate(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[str, ec.EllipticCurvePrivateKey]
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer[0])]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
    )
    if subject == issuer[0]:  # the CA
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
    else:
        address = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
        builder = builder.add_extension(x509.SubjectAlternativeName([address]), False)
    return builder.sign(issuer[1], hashes.SHA256())


@pytest.fixture
def tls_broker() -> Iterator[tuple[LocalBroker, Path]]:
    """mosquitto with a TLS listener whose certificate a throwaway CA signed:
    (broker, CA file)."""
    # mosquitto reads the files after dropping root: pytest's tmp_path is not readable
    folder = Path(tempfile.mkdtemp(prefix="tokenmeter-tls-"))
    folder.chmod(0o755)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("tokenmeter test CA", ca_key, ("tokenmeter test CA", ca_key))
    cert = _certificate("127.0.0.1", key, ("tokenmeter test CA", ca_key))
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(cert.public_bytes(pem))
    (folder / "key.pem").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / "key.pem").chmod(0o644)
    broker = LocalBroker(tls=(folder / "cert.pem", folder / "key.pem"))
    try:
        yield broker.start(), folder / "ca.pem"
    finally:
        broker.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_mqtts_connects_with_the_brokers_ca_and_says_why_without_it(
    tls_broker: tuple[LocalBroker, Path], caplog: pytest.LogCaptureFixture
) -> None:
    """mqtts:// verifies the broker against [mqtt] ca_file: messages flow with the
    right CA; with the system CAs the link stays down and the log says why."""
    broker, ca_file = tls_broker
    url = broker.url
    assert url.startswith("mqtts://")
    received: list[dict[str, Any]] = []
    link = MqttLink(url, prefix="tls", ca_file=str(ca_file))
    link.subscribe("rumah", "event", lambda _m, _leaf, payload: received.append(payload))
    link.start()
    try:
        assert link.wait_connected(10)
        time.sleep(0.2)  # let the SUBSCRIBE land
        link.publish("rumah", "event", {"type": "beep"}).wait_for_publish(5)
        assert _wait(lambda: received == [{"type": "beep"}])
    finally:
        link.stop()
    stranger = MqttLink(url, prefix="tls")
    stranger.start()
    try:
        assert not stranger.wait_connected(3)
        assert _wait(lambda: "over TLS (is [mqtt] ca_file" in caplog.text)
    finally:
        stranger.stop()
