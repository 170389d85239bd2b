"""Tests for scheduler.slots: occurrences in local time, across zones and DST."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.slots import (
    due_runs,
    job_id,
    latest_run,
    next_occurrence,
    previous_occurrence,
    resolve_timezone,
    slot_trigger,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "expected_utc"),
    [
        ("Asia/Jakarta", datetime(2026, 11, 20, 23, 0, tzinfo=UTC)),  # UTC+7
        ("Asia/Makassar", datetime(2026, 11, 20, 22, 0, tzinfo=UTC)),  # UTC+8
        ("Asia/Jayapura", datetime(2026, 11, 20, 21, 0, tzinfo=UTC)),  # UTC+9
        ("Europe/Amsterdam", datetime(2026, 11, 21, 5, 0, tzinfo=UTC)),  # UTC+1 in winter
    ],
)
def test_next_occurrence_is_local_time(zone: str, expected_utc: datetime) -> None:
    """06:00 local is the right UTC instant in each Indonesian zone and in Europe."""
    fire = next_occurrence(slot_trigger("06:00", ZoneInfo(zone)), NOW)
    assert fire == expected_utc
    assert fire.tzinfo is UTC
    assert fire.astimezone(ZoneInfo(zone)).strftime("%H:%M") == "06:00"


def test_dst_change_moves_the_utc_time() -> None:
    """Across the EU spring change 06:00 Amsterdam moves from 05:00 to 04:00 UTC."""
    trigger = slot_trigger("06:00", ZoneInfo("Europe/Amsterdam"))
    before = next_occurrence(trigger, datetime(2026, 3, 28, 0, 0, tzinfo=UTC))
    after = next_occurrence(trigger, before + timedelta(seconds=1))
    assert before == datetime(2026, 3, 28, 5, 0, tzinfo=UTC)
    assert after == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("slot", ["00:00", "02:30", "06:00", "23:59"])
def test_previous_matches_next_across_dst(slot: str) -> None:
    """previous_occurrence finds exactly the fire times APScheduler computes, DST included."""
    trigger = slot_trigger(slot, ZoneInfo("Europe/Amsterdam"))
    for start in (datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 10, 22, tzinfo=UTC)):
        fires = [next_occurrence(trigger, start)]
        for _ in range(6):
            fires.append(next_occurrence(trigger, fires[-1] + timedelta(microseconds=1)))
        for earlier, fire in itertools.pairwise(fires):
            assert previous_occurrence(trigger, fire) == fire
            assert previous_occurrence(trigger, fire - timedelta(seconds=1)) == earlier


def test_due_runs_only_within_grace() -> None:
    """Only slots whose latest occurrence is at most the grace period old are due."""
    zone = ZoneInfo("Asia/Jakarta")
    now = datetime(2026, 11, 20, 6, 10, tzinfo=zone).astimezone(UTC)
    triggers = [(slot, slot_trigger(slot, zone)) for slot in ("05:30", "06:00", "18:00")]
    runs = due_runs("rumah", triggers, now, timedelta(minutes=30))
    assert [(run.slot, run.occurrence) for run in runs] == [
        ("06:00", datetime(2026, 11, 19, 23, 0, tzinfo=UTC))
    ]
    assert due_runs("rumah", triggers, now, timedelta(minutes=45))[0].slot == "05:30"


def test_latest_run_picks_most_recent_slot() -> None:
    """The RTC mapping picks the most recent slot, honours the lead and the grace."""
    zone = ZoneInfo("Asia/Makassar")
    triggers = [(slot, slot_trigger(slot, zone)) for slot in ("06:00", "06:20")]
    at = datetime(2026, 11, 20, 6, 25, tzinfo=zone).astimezone(UTC)
    run = latest_run("kos-1", triggers, at, timedelta(minutes=30))
    assert run is not None and run.slot == "06:20"
    early = datetime(2026, 11, 20, 6, 19, tzinfo=zone).astimezone(UTC)
    led = latest_run("kos-1", triggers, early, timedelta(minutes=30), timedelta(minutes=2))
    assert led is not None and led.slot == "06:20"
    late = datetime(2026, 11, 20, 7, 0, tzinfo=zone).astimezone(UTC)
    assert latest_run("kos-1", triggers, late, timedelta(minutes=30)) is None
    assert latest_run("kos-1", [], at, timedelta(minutes=30)) is None


def test_job_id_and_timezone_fallback() -> None:
    """Job ids name meter and slot; an unknown zone falls back to Asia/Jakarta."""
    assert job_id("rumah", "06:00") == "check:rumah:06:00"
    assert resolve_timezone("Mars/Olympus").key == "Asia/Jakarta"
    assert resolve_timezone("").key == "Asia/Jakarta"
    assert resolve_timezone("Asia/Jayapura").key == "Asia/Jayapura"
