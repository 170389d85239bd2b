"""Tests for tokenmeter.events."""

from __future__ import annotations

import asyncio
import time

import pytest

from tokenmeter.domain import Meter, Reading, ReadingStatus, utcnow
from tokenmeter.events import (
    CheckCompleted,
    CheckOutcome,
    Event,
    EventBus,
    MeterBeep,
    NotifierQueue,
)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        self.events.append(event)


class Broken:
    async def notify(self, event: Event) -> None:
        raise RuntimeError("boom")


async def test_bus_delivers_to_all_even_when_one_fails(caplog: pytest.LogCaptureFixture) -> None:
    """A failing notifier is logged and the others still get the event."""
    bus = EventBus()
    first, second = Recorder(), Recorder()
    bus.subscribe(first)
    bus.subscribe(Broken())
    bus.subscribe(second)
    reading = Reading("r", "m", utcnow(), 12.5, "12.5", 0.99, "cli", ReadingStatus.OK)
    event = CheckCompleted(CheckOutcome(Meter("m", "M"), reading))
    await bus.publish(event)
    assert first.events == [event] and second.events == [event]
    assert "Broken failed" in caplog.text


async def test_unsubscribe_stops_delivery() -> None:
    """An unsubscribed notifier receives nothing more."""
    bus = EventBus()
    rec = Recorder()
    bus.subscribe(rec)
    bus.unsubscribe(rec)
    await bus.publish(MeterBeep("m"))
    assert rec.events == []


class Hanging:
    """Never finishes delivering the events in ``hang_on``; records the others."""

    def __init__(self, hang_on: set[str]) -> None:
        self.hang_on = hang_on
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        if isinstance(event, MeterBeep) and event.meter_id in self.hang_on:
            await asyncio.Event().wait()
        self.events.append(event)


async def test_queue_returns_at_once_and_delivers_in_order() -> None:
    """Publishing through a NotifierQueue does not wait for a hanging send; a send past
    its time limit is dropped and counted, the later events still arrive in order."""
    slow = Hanging({"hang"})
    queue = NotifierQueue(slow, name="test", timeout_s=0.2)
    bus = EventBus()
    bus.subscribe(queue)
    queue.start()
    try:
        began = time.monotonic()
        for meter in ("a", "hang", "b", "c"):
            await bus.publish(MeterBeep(meter))
        assert time.monotonic() - began < 0.1
        for _ in range(100):
            if len(slow.events) == 3:
                break
            await asyncio.sleep(0.02)
        assert [e.meter_id for e in slow.events if isinstance(e, MeterBeep)] == ["a", "b", "c"]
        assert queue.health() == {"waiting": 0, "dropped": 0, "timed_out": 1}
    finally:
        await queue.stop()


async def test_full_queue_drops_the_oldest() -> None:
    """With max_events waiting, a new event pushes the oldest out (counted)."""
    rec = Recorder()
    queue = NotifierQueue(rec, name="test", max_events=2)
    for meter in ("a", "b", "c"):
        await queue.notify(MeterBeep(meter))
    assert queue.health()["dropped"] == 1
    queue.start()
    await queue.stop(drain_s=1.0)
    assert [e.meter_id for e in rec.events if isinstance(e, MeterBeep)] == ["b", "c"]


async def test_stop_gives_up_on_a_hanging_send_within_its_drain_time() -> None:
    """stop() waits at most drain_s for waiting events, then ends the sender."""
    queue = NotifierQueue(Hanging({"hang"}), name="test", timeout_s=30)
    queue.start()
    await queue.notify(MeterBeep("hang"))
    await queue.notify(MeterBeep("later"))
    began = time.monotonic()
    await queue.stop(drain_s=0.2)
    assert time.monotonic() - began < 1.0 and queue.waiting == 1
