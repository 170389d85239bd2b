"""Tests for tokenmeter.events."""

from __future__ import annotations

import pytest

from tokenmeter.domain import Meter, Reading, ReadingStatus, utcnow
from tokenmeter.events import CheckCompleted, CheckOutcome, Event, EventBus, MeterBeep


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
