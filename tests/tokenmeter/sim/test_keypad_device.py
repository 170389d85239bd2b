"""Tests for tokenmeter.sim.keypad_device against a real mosquitto."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.tokenmeter.services.simkit import wait_until
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter, token_credit

TOKEN = "11112222333344445555"


class Pc:
    """A bare paho client playing the PC side."""

    def __init__(self, broker: LocalBroker, prefix: str) -> None:
        self.prefix = prefix
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(f"{prefix}/#", qos=1)
        self.client.loop_start()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            return
        with self._lock:
            self.messages.append((msg.topic.split("/", 2)[2], payload))

    def of(self, leaf: str) -> list[dict[str, Any]]:
        with self._lock:
            return [p for topic, p in self.messages if topic == leaf]

    def command(self, meter: str, payload: dict[str, Any] | bytes) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.client.publish(f"{self.prefix}/{meter}/keypad/cmd", body, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def rig(broker: LocalBroker) -> Iterator[tuple[SimulatedKeypadDevice, Pc]]:
    prefix = f"k{uuid.uuid4().hex[:8]}"
    meter = SimulatedMeter("kos2", start_kwh=40.0)
    pc = Pc(broker, prefix)
    device = SimulatedKeypadDevice(meter, broker.url, prefix=prefix, time_scale=0.01)
    device.start()
    assert wait_until(lambda: any(p.get("online") for p in pc.of("status")))
    yield device, pc
    device.stop()
    pc.close()


def test_command_is_typed_and_answered(rig: tuple[SimulatedKeypadDevice, Pc]) -> None:
    """20 digits + Enter are pressed on the meter and the result names the command id."""
    device, pc = rig
    pc.command("kos2", {"id": "c1", "keys": TOKEN, "enter": True, "ts": "now"})
    assert wait_until(lambda: bool(pc.of("keypad/result")))
    result = pc.of("keypad/result")[0]
    assert result["id"] == "c1" and result["ok"] is True and result["pressed"] == 21
    assert result["error"] == "" and result["rtc"]
    assert device.meter.kwh > 40.0 + token_credit(TOKEN) - 1


def test_repeated_id_is_answered_without_pressing(rig: tuple[SimulatedKeypadDevice, Pc]) -> None:
    """A redelivered command (same id) gets the earlier answer; keys are pressed once."""
    device, pc = rig
    command = {"id": "c2", "keys": TOKEN, "enter": True, "ts": "now"}
    pc.command("kos2", command)
    pc.command("kos2", command)  # while typing: ignored, the answer follows
    assert wait_until(lambda: len(pc.of("keypad/result")) >= 1)
    pc.command("kos2", command)  # after typing: answered again
    assert wait_until(lambda: len(pc.of("keypad/result")) >= 2)
    assert device.commands_pressed == 1
    assert device.meter.keys_pressed == 21
    assert device.meter.tokens_accepted == 1
    assert {r["id"] for r in pc.of("keypad/result")} == {"c2"}


def test_malformed_commands_are_ignored(rig: tuple[SimulatedKeypadDevice, Pc]) -> None:
    """Junk, a missing id or non-string keys press nothing; the device keeps working."""
    device, pc = rig
    pc.command("kos2", b"{not json")
    pc.command("kos2", {"keys": TOKEN})
    pc.command("kos2", {"id": "c3", "keys": 123})
    pc.command("kos2", {"id": "c4", "keys": TOKEN[:5], "enter": False, "ts": "now"})
    assert wait_until(lambda: bool(pc.of("keypad/result")))
    assert [r["id"] for r in pc.of("keypad/result")] == ["c4"]
    assert device.meter.keys_pressed == 5


def test_query_of_an_unknown_id(rig: tuple[SimulatedKeypadDevice, Pc]) -> None:
    """Empty keys ask about an id; an unknown one is answered unknown_id."""
    device, pc = rig
    pc.command("kos2", {"id": "c5", "keys": "", "enter": False, "ts": "now"})
    assert wait_until(lambda: bool(pc.of("keypad/result")))
    assert pc.of("keypad/result")[0]["error"] == "unknown_id"
    assert device.meter.keys_pressed == 0


def test_goodbye_marks_offline(broker: LocalBroker) -> None:
    """Stopping publishes a retained offline status."""
    prefix = f"k{uuid.uuid4().hex[:8]}"
    device = SimulatedKeypadDevice(SimulatedMeter("kos3"), broker.url, prefix=prefix)
    device.start()
    assert wait_until(lambda: device.link.connected)
    device.stop()
    pc = Pc(broker, prefix)
    try:
        assert wait_until(lambda: bool(pc.of("status")))
        assert pc.of("status")[-1]["online"] is False
    finally:
        pc.close()
