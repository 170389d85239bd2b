"""CheckScheduler on a FirebaseStore against the local Realtime Database server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_ADDED, EVENT_JOB_REMOVED, JobEvent

from tests.scheduler.conftest import MakeScheduler
from tests.scheduler.doubles import ManualClock, RecordingChecker, eventually, local, seed
from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tokenmeter.store.firebase import FirebaseStore


@pytest.fixture
def firebase(rtdb: FirebaseRtdbServer, ns: str, tmp_path: Path) -> Iterator[FirebaseStore]:
    opened = FirebaseStore(rtdb.url(ns), outbox_path=tmp_path / "a" / "outbox.db")
    yield opened
    opened.close()


async def test_change_written_by_anyone_reschedules_one_meter(
    firebase: FirebaseStore,
    rtdb: FirebaseRtdbServer,
    ns: str,
    make_scheduler: MakeScheduler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A raw write to the database (as from the console) reschedules only that meter;
    a malformed one keeps the last good schedule."""
    seed(firebase, "a", ["06:00", "18:00"], "Asia/Jayapura")
    seed(firebase, "b", ["06:00"], "Asia/Jakarta")
    scheduler = make_scheduler(firebase, RecordingChecker(), ManualClock(local("UTC", "12:00")))
    await scheduler.start(catch_up=False)
    assert await eventually(lambda: scheduler.slots("a") == ("06:00", "18:00"))
    changed: list[tuple[int, str]] = []

    def record(event: JobEvent) -> None:
        changed.append((event.code, event.job_id))

    scheduler.apscheduler.add_listener(record, EVENT_JOB_ADDED | EVENT_JOB_REMOVED)
    rtdb.write(ns, "meters/a/schedule", {"times": ["06:00", "21:30"], "enabled": True})
    # The issue asks for 2 s; the bench measures it. The test allows slack for a busy CI.
    assert await eventually(lambda: scheduler.slots("a") == ("06:00", "21:30"))
    assert sorted(changed) == [
        (EVENT_JOB_ADDED, "check:a:21:30"),
        (EVENT_JOB_REMOVED, "check:a:18:00"),
    ]
    job = scheduler.apscheduler.get_job("check:a:21:30")
    assert job.next_run_time.astimezone(ZoneInfo("Asia/Jayapura")).strftime("%H:%M") == "21:30"
    assert scheduler.slots("b") == ("06:00",)

    caplog.set_level(logging.WARNING, logger="scheduler.service")
    rtdb.write(ns, "meters/a/schedule", {"times": "not a list", "enabled": True})
    assert await eventually(lambda: "keeping the last good one 06:00,21:30" in caplog.text)
    assert scheduler.slots("a") == ("06:00", "21:30")


async def test_two_instances_on_firebase_run_a_slot_once(
    firebase: FirebaseStore,
    rtdb: FirebaseRtdbServer,
    ns: str,
    tmp_path: Path,
    make_scheduler: MakeScheduler,
) -> None:
    """Two instances on one Firebase database claim a slot with a transaction: one runs."""
    seed(firebase, "rumah", ["06:00"], "Asia/Jakarta")
    other = FirebaseStore(rtdb.url(ns), outbox_path=tmp_path / "b" / "outbox.db")
    checker = RecordingChecker(delay=0.05)
    clock = ManualClock(local("Asia/Jakarta", "06:00", seconds=3))
    try:
        one = make_scheduler(firebase, checker, clock, instance_id="pc-1")
        two = make_scheduler(other, checker, clock, instance_id="pc-2")
        await asyncio.gather(one.start(), two.start())
        await asyncio.gather(one.wait_idle(), two.wait_idle())
        await asyncio.gather(one.stop(), two.stop())
    finally:
        other.close()
    assert checker.calls == [("rumah", "schedule")]
    assert firebase.last_slot_run("rumah", "06:00") == local("Asia/Jakarta", "06:00")
