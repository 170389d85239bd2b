"""Tests for tokenmeter.devices.mqtt against a real mosquitto."""

from __future__ import annotations

import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.mqtt import BrokerAddress, MqttLink
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
    dying.client.socket().close()  # abrupt: no DISCONNECT packet  # type: ignore[union-attr]
    dying.client.loop_stop()
    seen: list[dict[str, Any]] = []
    watcher = MqttLink(broker.url, prefix="t3")
    watcher.subscribe("m", "status", lambda m, leaf, p: seen.append(p))
    watcher.start()
    try:
        assert _wait(lambda: {"online": False} in seen, timeout=15)
    finally:
        watcher.stop()
