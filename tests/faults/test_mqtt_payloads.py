"""Faults: hostile MQTT payloads against the running service (real mosquitto, /healthz).

A payload that cannot be parsed safely (nested thousands deep, a number of
thousands of digits, too large) or a Blynk redirect to something that is not a
server must be refused with a warning naming the topic, and leave both links
connected and working: the next message still arrives, and ``/healthz`` tells
the truth.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.bot.blynk.conftest import BlynkCloudSide
from tests.faults.conftest import healthz, service_config
from tests.tokenmeter.services.simkit import eventually
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.service import Service, build_service

TOKEN = "12345678901234567890"
DEEP = b"[" * 5000 + b"]" * 5000
POISON = (
    DEEP,  # json.loads: RecursionError
    b'{"id":"x","ok":true,"pressed":' + b"9" * 5000 + b"}",  # int(): ValueError (4,300 digits)
    b'{"id":"x","keys":"' + TOKEN.encode() + b'","more":' + DEEP + b"}",  # holds a token
    b'{"pad":"' + b"a" * 300_000 + b'"}',  # far larger than any device message
    b"\xff\xfe\x00garbage",
)
LEAVES = ("keypad/result", "status", "event", "keypad/cmd")
BAD_REDIRECTS = (
    b"evil host;reboot:8883",  # characters no host name has
    b"ny3.blynk.cloud:" + b"9" * 5000,  # int(): ValueError (4,300 digits)
    "ny3.blynk.cloud:\u00b2".encode(),  # str.isdigit() is true, int() fails
    b"\xff\xfe:8883",
    b"a" * 300 + b".cloud:8883",
)


def _publisher(broker: LocalBroker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _service(tmp_path: Path, broker: LocalBroker, *, blynk: bool = False) -> Service:
    return build_service(service_config(tmp_path, broker, blynk=blynk))


def _warnings_naming(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and text in record.getMessage()
    ]


async def test_poison_payloads_leave_the_link_connected_and_healthz_true(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Each poison on each subscribed topic is refused with a warning naming the topic
    (never the token it held); a status sent after them still arrives; /healthz is 200."""
    caplog.set_level(logging.WARNING)
    service = _service(tmp_path, broker)
    prefix = service.core.config.mqtt.prefix
    keypad = service.core.keypad
    await service.start()
    publisher = _publisher(broker)
    try:
        assert await eventually(lambda: keypad.is_online("rumah"))
        for leaf in LEAVES:
            for payload in POISON:
                publisher.publish(f"{prefix}/rumah/{leaf}", payload, qos=1).wait_for_publish(5)
        offline = json.dumps({"online": False, "device": "keypad"})
        publisher.publish(f"{prefix}/rumah/status", offline, qos=1).wait_for_publish(5)
        assert await eventually(lambda: not keypad.is_online("rumah")), (
            "a message sent after the poison never arrived: the MQTT link is dead"
        )
        assert service.health is not None
        status, body = await healthz(service.health.port)
        links = body["links"]
        assert isinstance(links, dict)
        assert status == 200 and links["mqtt"] == {"ok": True, "connected": True}
        assert links["meters"]["rumah"]["keypad_online"] is False
        for leaf in LEAVES:
            assert _warnings_naming(caplog, f"{prefix}/rumah/{leaf}"), leaf
        assert TOKEN not in caplog.text
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        await service.stop()


async def test_bad_blynk_redirects_are_refused_and_the_link_kept(
    tmp_path: Path, broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A redirect to something that is not host[:port] is refused with a warning; Blynk
    stays connected on its server, values still reach the app, /healthz says connected."""
    caplog.set_level(logging.WARNING)
    service = _service(tmp_path, broker, blynk=True)
    await service.start()
    cloud = BlynkCloudSide(broker).start()
    try:
        assert service.blynk is not None
        transport = service.blynk.transport
        assert await asyncio.to_thread(transport.wait_connected, 10)
        for payload in BAD_REDIRECTS:
            assert cloud.client is not None
            cloud.client.publish("downlink/redirect", payload, qos=1).wait_for_publish(5)
        # the warnings come from the transport's MQTT thread as it takes each redirect,
        # unordered with anything this test sees next: wait until every one was taken
        assert await eventually(
            lambda: len(_warnings_naming(caplog, "redirect")) >= len(BAD_REDIRECTS)
        ), _warnings_naming(caplog, "redirect")
        await asyncio.sleep(1.0)  # a move would have disconnected by now
        transport.write("V1", "still here")
        assert await eventually(lambda: cloud.last("V1") == "still here"), (
            "the Blynk link died after a bad redirect"
        )
        assert transport.connected
        assert (getattr(transport, "host", None), getattr(transport, "port", None)) == (
            broker.host,
            broker.port,
        )
        assert service.health is not None
        status, body = await healthz(service.health.port)
        links = body["links"]
        assert isinstance(links, dict)
        assert status == 200 and links["blynk"] == {"connected": True}
        assert len(_warnings_naming(caplog, "redirect")) >= len(BAD_REDIRECTS)
    finally:
        cloud.stop()
        await service.stop()
