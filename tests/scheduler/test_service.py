"""Tests for scheduler.service.CheckScheduler on a real SQLite store."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ADDED, EVENT_JOB_REMOVED, JobEvent

from scheduler.service import CheckScheduler
from tests.scheduler.conftest import MakeScheduler
from tests.scheduler.doubles import ManualClock, RecordingChecker, eventually, local, seed
from tokenmeter.config import Config, MeterConfig
from tokenmeter.domain import Schedule
from tokenmeter.store.sqlite import SqliteStore


def next_local(zone: str, hhmm: str, now: datetime) -> datetime:
    """The next local ``hhmm`` after ``now``, computed with zoneinfo alone."""
    today = now.astimezone(ZoneInfo(zone)).date()
    for day in (today, today + timedelta(days=1)):
        candidate = local(zone, hhmm, day)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable")


def job_ids(scheduler: CheckScheduler) -> set[str]:
    return {job.id for job in scheduler.apscheduler.get_jobs()}


async def test_jobs_fire_at_local_time_across_timezones(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """Each meter's jobs fire at its own local 06:00 and 18:00, DST zone included."""
    zones = {
        "jkt": "Asia/Jakarta",
        "mks": "Asia/Makassar",
        "jpr": "Asia/Jayapura",
        "ams": "Europe/Amsterdam",
    }
    for meter_id, zone in zones.items():
        seed(store, meter_id, ["18:00", "06:00"], zone)
    scheduler = make_scheduler(store, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    now = datetime.now(UTC)
    assert job_ids(scheduler) == {f"check:{m}:{t}" for m in zones for t in ("06:00", "18:00")}
    for meter_id, zone in zones.items():
        for slot in ("06:00", "18:00"):
            job = scheduler.apscheduler.get_job(f"check:{meter_id}:{slot}")
            assert job.next_run_time == next_local(zone, slot, now)
            assert job.next_run_time.astimezone(ZoneInfo(zone)).strftime("%H:%M") == slot


async def test_live_change_from_other_connection(
    store: SqliteStore, db_path: Path, make_scheduler: MakeScheduler
) -> None:
    """A schedule written by another connection reschedules only that meter's jobs."""
    seed(store, "a", ["06:00", "18:00"])
    seed(store, "b", ["06:00", "18:00"])
    scheduler = make_scheduler(store, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    changed: list[tuple[int, str]] = []

    def record(event: JobEvent) -> None:
        changed.append((event.code, event.job_id))

    scheduler.apscheduler.add_listener(record, EVENT_JOB_ADDED | EVENT_JOB_REMOVED)
    b_before = scheduler.apscheduler.get_job("check:b:06:00").next_run_time
    other = SqliteStore(db_path)
    try:
        other.set_schedule("a", Schedule.parse(["07:30", "18:00"]))
    finally:
        other.close()
    # The issue asks for 2 s; the bench measures it. The test allows slack for a busy CI.
    assert await eventually(lambda: scheduler.slots("a") == ("07:30", "18:00"))
    assert sorted(changed) == [
        (EVENT_JOB_ADDED, "check:a:07:30"),
        (EVENT_JOB_REMOVED, "check:a:06:00"),
    ]
    assert scheduler.slots("b") == ("06:00", "18:00")
    assert scheduler.apscheduler.get_job("check:b:06:00").next_run_time == b_before


async def test_disabled_schedule_removes_jobs(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """Disabling a schedule removes its jobs; enabling it again brings them back."""
    seed(store, "a", ["06:00", "18:00"])
    scheduler = make_scheduler(store, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    store.set_schedule("a", Schedule.parse(["06:00", "18:00"], enabled=False))
    assert await eventually(lambda: scheduler.slots("a") == ())
    assert job_ids(scheduler) == set()
    store.set_schedule("a", Schedule.parse(["06:00", "18:00"]))
    assert await eventually(lambda: scheduler.slots("a") == ("06:00", "18:00"))
    assert job_ids(scheduler) == {"check:a:06:00", "check:a:18:00"}


async def test_malformed_schedule_keeps_last_good(
    store: SqliteStore,
    db_path: Path,
    make_scheduler: MakeScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A malformed stored schedule is reported and the last good one stays scheduled."""
    seed(store, "a", ["06:00"])
    scheduler = make_scheduler(store, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    caplog.set_level(logging.WARNING, logger="scheduler.service")
    raw = sqlite3.connect(db_path)
    try:
        with raw:
            raw.execute(
                "UPDATE schedules SET data = ? WHERE meter_id = 'a'", ('{"times": ["25:99"]}',)
            )
    finally:
        raw.close()
    assert await eventually(lambda: "keeping the last good one 06:00" in caplog.text)
    assert scheduler.slots("a") == ("06:00",)
    assert job_ids(scheduler) == {"check:a:06:00"}
    store.set_schedule("a", Schedule.parse(["09:15"]))
    assert await eventually(lambda: scheduler.slots("a") == ("09:15",))


async def test_restart_runs_missed_slot_once(
    store: SqliteStore, db_path: Path, make_scheduler: MakeScheduler
) -> None:
    """A slot missed while down runs once at start-up, and not again after a restart."""
    seed(store, "rumah", ["06:00", "18:00"])
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jakarta", "06:10"))
    first = make_scheduler(store, checker, clock)
    await first.start()
    await first.wait_idle()
    assert checker.calls == [("rumah", "schedule")]
    assert store.last_slot_run("rumah", "06:00") == local("Asia/Jakarta", "06:00")
    await first.stop()

    reopened = SqliteStore(db_path)
    try:
        clock.advance(timedelta(minutes=5))
        second = make_scheduler(reopened, checker, clock)
        await second.start()
        await second.wait_idle()
    finally:
        await second.stop()
        reopened.close()
    assert checker.calls == [("rumah", "schedule")]


async def test_missed_slot_beyond_grace_not_run(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """A slot missed longer ago than the grace period is not caught up."""
    seed(store, "rumah", ["06:00"])
    checker = RecordingChecker()
    scheduler = make_scheduler(store, checker, ManualClock(local("Asia/Jakarta", "06:31")))
    await scheduler.start()
    await scheduler.wait_idle()
    assert checker.calls == []
    assert store.last_slot_run("rumah", "06:00") is None


async def test_grace_zero_runs_on_time_slots_but_catches_nothing_up(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """grace 0: a slot missed while down is not caught up, but a job or an RTC trigger
    a little after its slot time still runs it."""
    seed(store, "rumah", ["06:00", "18:00"])
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=1))
    scheduler = make_scheduler(store, checker, clock, grace=timedelta(0))
    await scheduler.start()
    await scheduler.wait_idle()
    assert checker.calls == []  # 06:00 was missed (by a second): no catch-up
    assert scheduler.apscheduler.get_job("check:rumah:06:00").misfire_grace_time == 120
    clock.advance(timedelta(seconds=30))
    assert await scheduler.run_slot("rumah", "06:00") is True  # the job, 31 s late
    clock.advance(timedelta(hours=12))
    assert await scheduler.rtc_trigger("rumah") is True  # 18:00, 31 s late
    assert checker.calls == [("rumah", "schedule"), ("rumah", "rtc")]
    clock.advance(timedelta(hours=12, minutes=3))
    assert await scheduler.run_slot("rumah", "06:00") is False  # 3 min late: too late


async def test_two_instances_run_a_slot_once(
    store: SqliteStore, db_path: Path, make_scheduler: MakeScheduler
) -> None:
    """Two service instances on one store, both triggered, check the meter once."""
    seed(store, "rumah", ["06:00"])
    checker = RecordingChecker(delay=0.05)
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=1))
    second_store = SqliteStore(db_path)
    try:
        one = make_scheduler(store, checker, clock, instance_id="pc-1")
        two = make_scheduler(second_store, checker, clock, instance_id="pc-2")
        await asyncio.gather(one.start(), two.start())
        await asyncio.gather(one.wait_idle(), two.wait_idle())
        runs = list(
            await asyncio.gather(one.run_slot("rumah", "06:00"), two.run_slot("rumah", "06:00"))
        )
        await asyncio.gather(one.stop(), two.stop())
    finally:
        second_store.close()
    assert checker.calls == [("rumah", "schedule")]
    assert runs == [False, False]  # the start-up catch-up already claimed it


async def test_rtc_after_pc_ran_slot_does_nothing(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """An RTC trigger for a slot the PC already ran is ignored."""
    seed(store, "rumah", ["06:00", "18:00"], "Asia/Makassar")
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Makassar", "06:00", seconds=1))
    scheduler = make_scheduler(store, checker, clock)
    await scheduler.start(catch_up=False)
    assert await scheduler.run_slot("rumah", "06:00") is True
    clock.advance(timedelta(minutes=3))
    assert await scheduler.rtc_trigger("rumah", "2026-11-20 06:03:00") is False
    assert checker.calls == [("rumah", "schedule")]


async def test_rtc_runs_slot_the_pc_missed(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """An RTC trigger runs a slot nobody ran (source rtc); the PC's job then skips it."""
    seed(store, "rumah", ["06:00"])
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jakarta", "05:59", seconds=30))  # device clock ahead
    scheduler = make_scheduler(store, checker, clock)
    await scheduler.start(catch_up=False)
    assert await scheduler.rtc_trigger("rumah") is True
    clock.advance(timedelta(seconds=31))
    assert await scheduler.run_slot("rumah", "06:00") is False
    assert checker.calls == [("rumah", "rtc")]
    assert store.last_slot_run("rumah", "06:00") == local("Asia/Jakarta", "06:00")


async def test_real_job_fires_and_claims(store: SqliteStore, make_scheduler: MakeScheduler) -> None:
    """An APScheduler job firing for real claims its slot and checks the meter."""
    seed(store, "rumah", ["06:00"])
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=1))
    scheduler = make_scheduler(store, checker, clock)
    await scheduler.start(catch_up=False)
    job = scheduler.apscheduler.get_job("check:rumah:06:00")
    job.modify(next_run_time=datetime.now(UTC) + timedelta(seconds=1))
    assert await eventually(lambda: len(checker.calls) == 1)
    assert checker.calls == [("rumah", "schedule")]
    assert store.last_slot_run("rumah", "06:00") == local("Asia/Jakarta", "06:00")
    await scheduler.wait_idle()
    next_run = scheduler.apscheduler.get_job("check:rumah:06:00").next_run_time
    assert next_run.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M") == "06:00"


async def test_concurrent_triggers_of_a_meter_coalesce(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """Two slots of one meter triggered together share one check."""
    seed(store, "rumah", ["06:00", "06:01"])
    checker = RecordingChecker(delay=0.2)
    clock = ManualClock(local("Asia/Jakarta", "06:01", seconds=2))
    scheduler = make_scheduler(store, checker, clock)
    await scheduler.start(catch_up=False)
    runs = list(
        await asyncio.gather(
            scheduler.run_slot("rumah", "06:00"), scheduler.run_slot("rumah", "06:01")
        )
    )
    assert runs == [True, True]
    assert checker.calls == [("rumah", "schedule")]


async def test_failed_check_is_not_retried(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """A failed scheduled check runs (and is reported by the check service) once."""
    seed(store, "rumah", ["06:00"])
    checker = RecordingChecker(fail=True)
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=1))
    scheduler = make_scheduler(store, checker, clock)
    await scheduler.start()
    await scheduler.wait_idle()
    assert await scheduler.run_slot("rumah", "06:00") is False
    assert await scheduler.rtc_trigger("rumah") is False
    assert checker.calls == [("rumah", "schedule")]


async def test_from_config_uses_grace_instance_and_timezones(store: SqliteStore) -> None:
    """from_config takes grace, instance id and a meter's timezone from the config."""
    config = Config(meters=[MeterConfig(id="kos", timezone="Asia/Jayapura", schedule=["07:00"])])
    config.checks.grace_minutes = 5
    config.service.instance_id = "pc-kos"
    store.set_schedule("kos", Schedule.parse(["07:00"]))  # no /config in the store yet
    checker = RecordingChecker()
    clock = ManualClock(local("Asia/Jayapura", "07:04"))
    scheduler = CheckScheduler.from_config(config, store, checker, clock=clock)
    try:
        await scheduler.start(catch_up=False)
        assert await eventually(lambda: scheduler.slots("kos") == ("07:00",))
        job = scheduler.apscheduler.get_job("check:kos:07:00")
        assert job.next_run_time.astimezone(ZoneInfo("Asia/Jayapura")).hour == 7
        assert await scheduler.run_slot("kos", "07:00") is True
        clock.advance(timedelta(days=1, minutes=2))  # 07:06 next day: beyond 5 min grace
        assert await scheduler.run_slot("kos", "07:00") is False
    finally:
        await scheduler.stop()
    assert checker.calls == [("kos", "schedule")]


async def test_meter_not_in_the_config_is_not_scheduled(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A meter only in the store gets no jobs, live changes included, and one warning."""
    config = Config(meters=[MeterConfig(id="kos", schedule=["07:00"])])
    seed(store, "kos", ["07:00"])
    seed(store, "gudang", ["08:00"])
    scheduler = CheckScheduler.from_config(
        config, store, RecordingChecker(), clock=ManualClock(local("Asia/Jakarta", "12:00"))
    )
    try:
        with caplog.at_level(logging.WARNING, logger="scheduler.service"):
            await scheduler.start(catch_up=False)
            store.set_schedule("gudang", Schedule.parse(["08:00", "20:00"]))
            store.set_schedule("kos", Schedule.parse(["09:00"]))
            assert await eventually(lambda: scheduler.slots("kos") == ("09:00",))
        assert scheduler.slots("gudang") == ()
        assert job_ids(scheduler) == {"check:kos:09:00"}
        assert [r.getMessage() for r in caplog.records if "gudang" in r.getMessage()] == [
            "meter gudang is in the store but not in the config: its checks at 08:00 are not "
            "run (to drop them: tokenmeter schedule remove --meter gudang)"
        ]
    finally:
        await scheduler.stop()


async def test_stop_then_start_again_reschedules(
    store: SqliteStore, make_scheduler: MakeScheduler
) -> None:
    """A stopped scheduler holds no jobs; starting it again restores them from the store."""
    seed(store, "rumah", ["06:00"])
    scheduler = make_scheduler(store, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    await scheduler.stop()
    assert scheduler.slots("rumah") == ()
    store.set_schedule("rumah", Schedule.parse(["06:00", "19:00"]))
    await scheduler.start(catch_up=False)
    assert job_ids(scheduler) == {"check:rumah:06:00", "check:rumah:19:00"}
