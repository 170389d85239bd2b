"""Tests for tokenmeter.devices.keypad against a real mosquitto."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.tokenmeter.services.simkit import EventLog, eventually
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.keypad import KeypadLink, parse_result, parse_status
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.events import DeviceChanged, EventBus
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.sqlite import SqliteStore

TOKEN = "12765432109876543210"


@dataclass
class Rig:
    link: KeypadLink
    mqtt: MqttLink
    store: SqliteStore
    events: EventLog
    prefix: str
    broker: LocalBroker


@pytest.fixture
async def rig(broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Rig]:
    prefix = f"p{uuid.uuid4().hex[:8]}"
    link_mqtt = MqttLink(broker.url, prefix=prefix)
    store = SqliteStore(tmp_path / "tm.db")
    bus, events = EventBus(), EventLog()
    bus.subscribe(events)
    link = KeypadLink(link_mqtt, store, bus)
    link.start()
    link_mqtt.start()
    assert await eventually(lambda: link_mqtt.connected)
    yield Rig(link, link_mqtt, store, events, prefix, broker)
    link_mqtt.stop()
    await link.close()
    store.close()


def _raw_publish(rig: Rig, leaf: str, body: bytes, retain: bool = False) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(rig.broker.host, rig.broker.port)
    client.loop_start()
    client.publish(f"{rig.prefix}/{leaf}", body, qos=1, retain=retain).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_parse_result_and_status() -> None:
    """Only well-formed payloads are accepted."""
    ok = parse_result({"id": "a", "ok": True, "pressed": 21, "error": "", "rtc": "t"})
    assert ok is not None and ok.pressed == 21
    assert parse_result({"id": "a", "ok": "yes"}) is None
    assert parse_result({"ok": True}) is None
    assert parse_result({"id": "a", "ok": True, "pressed": -1}) is None
    assert parse_status({"online": True})
    assert parse_status({"online": "true"}) is None
    status = parse_status({"online": False, "device": "camera"})
    assert status is not None and status.name == "camera"


async def test_command_and_result_matched_by_id(rig: Rig) -> None:
    """A command reaches the device and its result comes back to the waiter by id."""
    meter = SimulatedMeter("rumah", start_kwh=10.0)
    device = SimulatedKeypadDevice(meter, rig.broker.url, prefix=rig.prefix, time_scale=0.01)
    device.start()
    try:
        assert await rig.link.wait_status("rumah", 5)
        rig.link.send("rumah", "cmd-1", TOKEN)
        result = await rig.link.result("rumah", "cmd-1", 10)
        assert result is not None and result.ok and result.pressed == 21
        assert await rig.link.result("rumah", "other", 0.2) is None
    finally:
        device.stop()
    assert meter.tokens_accepted == 1


async def test_online_offline_is_followed_and_stored(rig: Rig) -> None:
    """Retained status and the goodbye move the keypad online/offline, stored and published."""
    device = SimulatedKeypadDevice(SimulatedMeter("kos"), rig.broker.url, prefix=rig.prefix)
    device.start()
    assert await rig.link.wait_status("kos", 5)
    device.stop()
    assert await eventually(lambda: not rig.link.is_online("kos"))
    assert await eventually(lambda: len(rig.events.of(DeviceChanged)) == 2)
    states = [e.device.online for e in rig.events.of(DeviceChanged)]
    assert states == [True, False]
    stored = rig.store.get_device_statuses("kos")
    assert [s.online for s in stored if s.name == "keypad"] == [False]


async def test_last_will_marks_a_vanished_device_offline(rig: Rig) -> None:
    """A device whose connection dies without goodbye is marked offline by its last will."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    topic = f"{rig.prefix}/gone/status"
    client.will_set(topic, json.dumps({"online": False}), qos=1, retain=True)
    client.connect(rig.broker.host, rig.broker.port, keepalive=60)
    client.loop_start()
    client.publish(topic, json.dumps({"online": True}), qos=1, retain=True).wait_for_publish(5)
    client.loop_stop()
    assert await rig.link.wait_status("gone", 5)
    sock = client.socket()
    assert sock is not None
    sock.close()  # the process "crashed": no DISCONNECT packet
    assert await eventually(lambda: not rig.link.is_online("gone"))


async def test_malformed_payloads_are_logged_and_ignored(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """Junk JSON, wrong fields and non-objects change nothing; a later good result works."""
    caplog.set_level(logging.WARNING)
    waiter = rig.link.result("rumah", "cmd-9", 5)
    _raw_publish(rig, "rumah/keypad/result", b"{junk")
    _raw_publish(rig, "rumah/keypad/result", b"[1, 2]")
    _raw_publish(rig, "rumah/keypad/result", json.dumps({"id": "cmd-9", "ok": "yes"}).encode())
    _raw_publish(rig, "rumah/status", json.dumps({"online": "maybe"}).encode())
    good = {"id": "cmd-9", "ok": True, "pressed": 21, "error": "", "rtc": ""}
    _raw_publish(rig, "rumah/keypad/result", json.dumps(good).encode())
    result = await waiter
    assert result is not None and result.ok
    assert not rig.link.is_online("rumah")
    text = caplog.text
    assert "malformed MQTT payload" in text
    assert "malformed keypad result" in text
    assert "malformed status" in text


async def test_camera_status_does_not_count_as_keypad(rig: Rig) -> None:
    """A status from the camera on the same topic leaves the keypad unknown."""
    _raw_publish(rig, "cam/status", json.dumps({"online": True, "device": "camera"}).encode())
    assert await rig.link.wait_status("cam", 0.5) is False
    assert rig.store.get_device_statuses("cam") == []
