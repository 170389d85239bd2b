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
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import SecretStr

from tests.bot.blynk.conftest import AUTH_TOKEN, BlynkCloudSide
from tests.tokenmeter.services.simkit import sim_config
from tokenmeter.devices.broker import LocalBroker, free_port
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


async def _eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _healthz(port: int) -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _publisher(broker: LocalBroker) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def _service(tmp_path: Path, broker: LocalBroker, *, blynk: bool = False) -> Service:
    config = sim_config(tmp_path, broker.url)
    config.service.health_port = free_port()
    if blynk:
        config.blynk.transport = "mqtt"
        config.blynk.auth_token = SecretStr(AUTH_TOKEN)
        config.blynk.server, config.blynk.port, config.blynk.tls = broker.host, broker.port, False
    return build_service(config)


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
        assert await _eventually(lambda: keypad.is_online("rumah"))
        for leaf in LEAVES:
            for payload in POISON:
                publisher.publish(f"{prefix}/rumah/{leaf}", payload, qos=1).wait_for_publish(5)
        offline = json.dumps({"online": False, "device": "keypad"})
        publisher.publish(f"{prefix}/rumah/status", offline, qos=1).wait_for_publish(5)
        assert await _eventually(lambda: not keypad.is_online("rumah")), (
            "a message sent after the poison never arrived: the MQTT link is dead"
        )
        assert service.health is not None
        status, body = await _healthz(service.health.port)
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
        await asyncio.sleep(1.0)  # a move would have disconnected by now
        transport.write("V1", "still here")
        assert await _eventually(lambda: cloud.last("V1") == "still here"), (
            "the Blynk link died after a bad redirect"
        )
        assert transport.connected
        assert (getattr(transport, "host", None), getattr(transport, "port", None)) == (
            broker.host,
            broker.port,
        )
        assert service.health is not None
        status, body = await _healthz(service.health.port)
        links = body["links"]
        assert isinstance(links, dict)
        assert status == 200 and links["blynk"] == {"connected": True}
        assert len(_warnings_naming(caplog, "redirect")) >= len(BAD_REDIRECTS)
    finally:
        cloud.stop()
        await service.stop()
