"""Slot and occurrence math.

A *slot* is one local ``HH:MM`` of a meter's schedule; an *occurrence* is one
run of it, as an aware UTC ``datetime``. Occurrences are computed with the same
APScheduler ``CronTrigger`` the job uses, so a job that fires and the claim it
writes always agree — including across DST changes.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Jakarta"
# Far enough back to hold the previous run of a daily slot, even across a DST change.
_LOOKBACK = timedelta(hours=50)


def job_id(meter_id: str, slot: str) -> str:
    """The APScheduler job id of one slot: ``check:{meter}:{HH:MM}``."""
    return f"check:{meter_id}:{slot}"


def resolve_timezone(name: str, fallback: str = DEFAULT_TIMEZONE) -> ZoneInfo:
    """The zone called ``name``; ``fallback`` (logged) when it is empty or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown timezone %r; using %s", name, fallback)
    return ZoneInfo(fallback)


@functools.lru_cache(maxsize=8192)
def slot_trigger(slot: str, timezone: ZoneInfo) -> CronTrigger:
    """A daily trigger at local ``HH:MM`` in ``timezone`` (shared: triggers hold no state)."""
    hour, _, minute = slot.partition(":")
    return CronTrigger(hour=int(hour), minute=int(minute), second=0, timezone=timezone)


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def next_occurrence(trigger: CronTrigger, now: datetime) -> datetime:
    """The first occurrence at or after ``now`` (UTC)."""
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    if fire is None:  # a daily cron trigger without an end date always has a next one
        raise ValueError("trigger has no next fire time")
    return _as_utc(fire)


def previous_occurrence(trigger: CronTrigger, now: datetime) -> datetime:
    """The most recent occurrence at or before ``now`` (UTC)."""
    fire: datetime | None = trigger.get_next_fire_time(None, now - _LOOKBACK)
    last: datetime | None = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire)
    if last is None:
        raise ValueError("trigger has no occurrence in the look-back window")
    return _as_utc(last)


@dataclass(frozen=True)
class SlotRun:
    """One occurrence of one slot of one meter."""

    meter_id: str
    slot: str
    occurrence: datetime

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.meter_id, self.slot, self.occurrence)


def due_runs(
    meter_id: str,
    triggers: Iterable[tuple[str, CronTrigger]],
    now: datetime,
    grace: timedelta,
) -> list[SlotRun]:
    """Each slot's most recent occurrence that is at most ``grace`` old, oldest first."""
    runs = []
    for slot, trigger in triggers:
        occurrence = previous_occurrence(trigger, now)
        if now - occurrence <= grace:
            runs.append(SlotRun(meter_id, slot, occurrence))
    return sorted(runs, key=lambda run: run.occurrence)


def latest_run(
    meter_id: str,
    triggers: Iterable[tuple[str, CronTrigger]],
    now: datetime,
    grace: timedelta,
    lead: timedelta = timedelta(0),
) -> SlotRun | None:
    """The slot whose occurrence is the most recent at or before ``now + lead``, if
    it is within ``grace`` of ``now``; None otherwise.

    ``lead`` absorbs a device clock running slightly ahead of this one.
    """
    horizon = now + lead
    best: SlotRun | None = None
    for slot, trigger in triggers:
        occurrence = previous_occurrence(trigger, horizon)
        if best is None or occurrence > best.occurrence:
            best = SlotRun(meter_id, slot, occurrence)
    if best is None or now - best.occurrence > grace:
        return None
    return best
