"""Fixtures for the Blynk door: a stand-in top-up service, a Blynk.Cloud side on mosquitto."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import (
    Meter,
    TopUp,
    TopUpStatus,
    mask_token,
    new_id,
    token_hash,
    utcnow,
    validate_token,
)
from tokenmeter.errors import InvalidToken
from tokenmeter.events import EventBus, TopUpChanged

AUTH_TOKEN = "dev-auth-token-123"
METER = Meter("rumah", "Rumah")
VALID_TOKEN = "1234 5678 9012 3456 7890"
OTHER_TOKEN = "11112222333344445555"


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (without blocking the loop) until ``predicate()`` holds; fail after ``timeout``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class StandInTopUps:
    """Implements ``tokenmeter.services.api.TopUps`` the way TopUpService does, minus the
    store and devices: validate, refuse a used token, publish PENDING → SENT → CONFIRMED."""

    def __init__(self, bus: EventBus, meter: Meter = METER, credit: float = 25.0) -> None:
        self.bus = bus
        self.meter = meter
        self.credit = credit
        self.typed: list[str] = []  # digits that went to the (pretend) keypad
        self.sources: list[str] = []
        self.release = asyncio.Event()  # hold the top-up at SENT until set
        self.release.set()
        self._used: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def check_token(self, meter_id: str, token: str) -> str:
        digits = validate_token(token)
        if token_hash(meter_id, digits) in self._used:
            raise InvalidToken("already_used")
        return digits

    async def start(self, meter_id: str, token: str, source: str) -> TopUp:
        digits = validate_token(token)
        digest = token_hash(meter_id, digits)
        if digest in self._used:
            raise InvalidToken("already_used")
        self._used.add(digest)
        self.sources.append(source)
        topup = TopUp(
            id=new_id("t-"),
            meter_id=meter_id,
            ts=utcnow(),
            masked=mask_token(digits),
            hash=digest,
            status=TopUpStatus.PENDING,
            source=source,
            before=12.5,
        )
        await self.bus.publish(TopUpChanged(self.meter, topup))
        task = asyncio.create_task(self._type(topup, digits))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return topup

    async def _type(self, topup: TopUp, digits: str) -> None:
        self.typed.append(digits)
        sent = topup.moved(TopUpStatus.SENT)
        await self.bus.publish(TopUpChanged(self.meter, sent))
        await self.release.wait()
        done = sent.moved(TopUpStatus.CONFIRMED, after=(topup.before or 0) + self.credit)
        await self.bus.publish(TopUpChanged(self.meter, done))

    async def wait(self, meter_id: str, topup_id: str, timeout: float) -> TopUp:
        raise NotImplementedError


@dataclass
class BlynkCloudSide:
    """Plays Blynk.Cloud on a mosquitto: app writes go to ``downlink/ds/<name>``, the
    device's ``ds/<name>`` values are recorded."""

    broker: LocalBroker
    values: dict[str, list[str]] = field(default_factory=dict)
    client: mqtt.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> BlynkCloudSide:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        ready = threading.Event()

        def on_connect(c: mqtt.Client, u: object, f: object, rc: object, p: object) -> None:
            c.subscribe("ds/#", qos=1)

        def on_subscribe(c: mqtt.Client, u: object, mid: int, rc: object, p: object) -> None:
            ready.set()

        def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
            with self._lock:
                self.values.setdefault(msg.topic[3:], []).append(msg.payload.decode())

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        client.connect(self.broker.host, self.broker.port)
        client.loop_start()
        assert ready.wait(10), "cloud side could not subscribe"
        self.client = client
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()

    def app_write(self, datastream: str, value: str, topic: str = "") -> None:
        assert self.client is not None
        info = self.client.publish(topic or f"downlink/ds/{datastream}", value, qos=1)
        info.wait_for_publish(5)

    def of(self, datastream: str) -> list[str]:
        with self._lock:
            return list(self.values.get(datastream, []))

    def last(self, datastream: str) -> str | None:
        found = self.of(datastream)
        return found[-1] if found else None


@pytest.fixture
def cloud(broker: LocalBroker) -> Iterator[BlynkCloudSide]:
    """Blynk.Cloud's side of the MQTT API on the session mosquitto."""
    side = BlynkCloudSide(broker).start()
    yield side
    side.stop()


@pytest.fixture
async def bus() -> AsyncIterator[EventBus]:
    """A fresh event bus."""
    yield EventBus()
