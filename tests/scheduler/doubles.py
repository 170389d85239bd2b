"""Test doubles for the scheduler's dependencies (never for the scheduler itself)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from tokenmeter.domain import Meter, Reading, ReadingStatus, Schedule, new_id
from tokenmeter.events import CheckOutcome
from tokenmeter.store.base import Store

DAY = date(2026, 11, 20)


def local(zone: str, hhmm: str, day: date = DAY, seconds: int = 0) -> datetime:
    """The UTC instant of local ``hhmm`` (+ seconds) on ``day`` in ``zone``."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    moment = datetime.combine(day, clock_time(hour, minute), tzinfo=ZoneInfo(zone))
    return (moment + timedelta(seconds=seconds)).astimezone(UTC)


def seed(store: Store, meter_id: str, times: list[str], zone: str = "Asia/Jakarta") -> None:
    """Store a meter's config and schedule."""
    store.put_meter(Meter(meter_id, meter_id.title(), timezone=zone))
    store.set_schedule(meter_id, Schedule.parse(times))


@dataclass
class ManualClock:
    """An aware-UTC clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class RecordingChecker:
    """A ``Checker`` that records its calls; optionally slow or failing."""

    delay: float = 0.0
    fail: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)
    call_times: list[float] = field(default_factory=list)

    async def check(self, meter_id: str, source: str) -> CheckOutcome:
        self.calls.append((meter_id, source))
        self.call_times.append(time.time())
        if self.delay:
            await asyncio.sleep(self.delay)
        status = ReadingStatus.CAMERA_ERROR if self.fail else ReadingStatus.OK
        reading = Reading(
            id=new_id(),
            meter_id=meter_id,
            ts=datetime.now(UTC),
            kwh=None if self.fail else 42.5,
            text="" if self.fail else "42.5",
            confidence=0.0 if self.fail else 0.99,
            source=source,
            status=status,
            error="camera_unavailable" if self.fail else "",
        )
        return CheckOutcome(meter=Meter(meter_id, meter_id), reading=reading)


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` on the loop until it holds or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()
