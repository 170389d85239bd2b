"""Tests for scheduler.rtc: RTC triggers and schedule copies over a real mosquitto."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from scheduler.rtc import schedule_copy
from tests.scheduler.conftest import MakeScheduler
from tests.scheduler.doubles import ManualClock, RecordingChecker, eventually, local, seed
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import Schedule
from tokenmeter.store.sqlite import SqliteStore


@pytest.fixture
def prefix() -> str:
    """A topic prefix of this test only (retained messages stay on the broker)."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def service_link(broker: LocalBroker, prefix: str) -> Iterator[MqttLink]:
    link = MqttLink(broker.url, prefix=prefix)
    link.start()
    assert link.wait_connected(10)
    yield link
    link.stop()


@pytest.fixture
def device_link(broker: LocalBroker, prefix: str) -> Iterator[MqttLink]:
    """Plays the ESP32: reads schedule copies, sends events."""
    link = MqttLink(broker.url, prefix=prefix)
    link.start()
    assert link.wait_connected(10)
    yield link
    link.stop()


def test_schedule_copy_payload() -> None:
    """The retained copy carries times, enabled and the timezone."""
    copy = schedule_copy(Schedule.parse(["18:00", "6:00"], enabled=False), "Asia/Jayapura")
    assert copy == {"times": ["06:00", "18:00"], "enabled": False, "timezone": "Asia/Jayapura"}


async def test_schedule_copy_published_and_updated(
    store: SqliteStore,
    service_link: MqttLink,
    device_link: MqttLink,
    make_scheduler: MakeScheduler,
) -> None:
    """The device sees the retained schedule at start-up and again after a change."""
    seed(store, "rumah", ["06:00", "18:00"], "Asia/Makassar")
    seen: list[dict[str, Any]] = []
    lock = threading.Lock()

    def on_schedule(meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        with lock:
            seen.append({"meter": meter_id, **payload})

    scheduler = make_scheduler(
        store, RecordingChecker(), ManualClock(local("UTC", "12:00")), mqtt=service_link
    )
    await scheduler.start(catch_up=False)
    first = {
        "meter": "rumah",
        "times": ["06:00", "18:00"],
        "enabled": True,
        "timezone": "Asia/Makassar",
    }
    device_link.subscribe("+", "schedule", on_schedule)
    assert await eventually(lambda: first in seen)
    store.set_schedule("rumah", Schedule.parse(["05:45"], enabled=False))
    changed = {**first, "times": ["05:45"], "enabled": False}
    assert await eventually(lambda: changed in seen)


async def test_rtc_event_over_mqtt_runs_slot_once(
    store: SqliteStore,
    service_link: MqttLink,
    device_link: MqttLink,
    make_scheduler: MakeScheduler,
) -> None:
    """An rtc_check event runs the due slot with source rtc; a repeat and a beep do not."""
    seed(store, "rumah", ["06:00"])
    seed(store, "kamar", ["06:00"])
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=20))
    scheduler = make_scheduler(store, checker, clock, mqtt=service_link)
    copies: list[str] = []
    device_link.subscribe("+", "schedule", lambda meter, leaf, payload: copies.append(meter))
    await scheduler.start(catch_up=False)
    assert await eventually(lambda: "rumah" in copies)  # the service's subscription is live
    device_link.publish("rumah", "event", {"type": "beep", "rtc": "2026-11-20 06:00:18"})
    device_link.publish("rumah", "event", {"type": "rtc_check", "rtc": "2026-11-20 06:00:19"})
    assert await eventually(lambda: checker.calls == [("rumah", "rtc")])
    device_link.publish("rumah", "event", {"type": "rtc_check", "rtc": "2026-11-20 06:00:21"})
    device_link.publish("other", "event", {"type": "rtc_check"})
    # Events arrive in order: once the marker meter has run, the ones before it were seen.
    device_link.publish("kamar", "event", {"type": "rtc_check"})
    assert await eventually(lambda: ("kamar", "rtc") in checker.calls)
    await asyncio.sleep(0.1)  # a wrongly repeated check would have been started by now
    assert checker.calls == [("rumah", "rtc"), ("kamar", "rtc")]
