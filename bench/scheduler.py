"""Benchmark the check scheduler.

1. Scale: 1,000 meters x 4 times scheduled in one batch (as at start-up), then all
   rescheduled meter by meter (as separate store changes), in a running
   AsyncIOScheduler (``CheckScheduler.apply_schedules`` / ``apply_schedule``).
2. Live change through SQLite: the same, but written to the store by another
   connection and picked up by ``watch_schedules`` (write done -> jobs in place);
   and the latency of a single meter's change, in SQLite and in Firebase (the
   local Realtime Database server of the tests, written raw as the console would).
3. Lateness: how long after its time a check starts, with a real AsyncIOScheduler
   and the real claim in SQLite. Jobs for the current local minute are set to fire
   a couple of seconds ahead; ``--natural`` also waits for the next whole minute
   and measures untouched cron jobs.

Run:  .venv/bin/python bench/scheduler.py [--natural]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.service import CheckScheduler
from tokenmeter.domain import Meter, Reading, ReadingStatus, Schedule, new_id
from tokenmeter.events import CheckOutcome
from tokenmeter.store.firebase import FirebaseStore
from tokenmeter.store.sqlite import SqliteStore

METERS = 1000
TIMES = ("06:00", "12:00", "18:00", "23:30")
NEW_TIMES = ("05:45", "12:00", "17:15", "22:00")
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Europe/Amsterdam")


class TimingChecker:
    """Records when each check starts (wall clock)."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    async def check(self, meter_id: str, source: str) -> CheckOutcome:
        self.started[meter_id] = time.time()
        reading = Reading(
            id=new_id(),
            meter_id=meter_id,
            ts=datetime.now(UTC),
            kwh=1.0,
            text="1.0",
            confidence=1.0,
            source=source,
            status=ReadingStatus.OK,
        )
        return CheckOutcome(meter=Meter(meter_id, meter_id), reading=reading)


async def _until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.005)


async def bench_apply(workdir: Path) -> tuple[float, float]:
    """Seconds to schedule and to reschedule 1,000 x 4 jobs in a running scheduler."""
    store = SqliteStore(workdir / "apply.db")
    scheduler = CheckScheduler(store, TimingChecker(), instance_id="bench")
    await scheduler.start(catch_up=False)
    try:
        first, second = Schedule.parse(TIMES), Schedule.parse(NEW_TIMES)
        batch = [(f"m{n:04d}", first, ZONES[n % len(ZONES)]) for n in range(METERS)]
        began = time.perf_counter()
        scheduler.apply_schedules(batch)
        await asyncio.sleep(0)  # let APScheduler process its wake-up
        scheduled = time.perf_counter() - began
        assert scheduler.job_count() == METERS * len(TIMES)
        began = time.perf_counter()
        for n in range(METERS):  # one by one, as separate store changes would come
            scheduler.apply_schedule(f"m{n:04d}", second, ZONES[n % len(ZONES)])
        await asyncio.sleep(0)
        rescheduled = time.perf_counter() - began
        assert scheduler.slots("m0999") == NEW_TIMES
        return scheduled, rescheduled
    finally:
        await scheduler.stop()
        store.close()


async def bench_live(workdir: Path) -> tuple[float, float, float, list[float]]:
    """Start-up load, bulk live change and single-change latencies through SQLite."""
    path = workdir / "live.db"
    store = SqliteStore(path)
    for n in range(METERS):
        store.put_meter(Meter(f"m{n:04d}", f"M{n}", timezone=ZONES[n % len(ZONES)]))
        store.set_schedule(f"m{n:04d}", Schedule.parse(TIMES))
    scheduler = CheckScheduler(store, TimingChecker(), instance_id="bench")
    began = time.perf_counter()
    await scheduler.start(catch_up=False)
    startup = time.perf_counter() - began
    writer = SqliteStore(path)
    try:
        began = time.perf_counter()
        await asyncio.to_thread(_write_all, writer, Schedule.parse(NEW_TIMES))
        written = time.perf_counter()
        write_s = written - began
        await _until(lambda: all(scheduler.slots(f"m{n:04d}") == NEW_TIMES for n in range(METERS)))
        bulk = time.perf_counter() - written
        singles = []
        for n, times in enumerate((("07:00",), ("07:05", "19:05"), ("08:00",)) * 3):
            meter_id = f"m{n * 97:04d}"
            began = time.perf_counter()
            await asyncio.to_thread(writer.set_schedule, meter_id, Schedule.parse(times))
            await _until(lambda m=meter_id, t=times: scheduler.slots(m) == t)  # type: ignore[misc]
            singles.append(time.perf_counter() - began)
        return startup, write_s, bulk, singles
    finally:
        await scheduler.stop()
        writer.close()
        store.close()


async def bench_firebase(workdir: Path, meters: int = 50) -> list[float]:
    """Single-meter change latency through FirebaseStore (local RTDB server, raw write)."""
    from tests.servers.firebase_rtdb import FirebaseRtdbServer

    with FirebaseRtdbServer() as rtdb:
        store = FirebaseStore(rtdb.url("bench"), outbox_path=workdir / "fb" / "outbox.db")
        for n in range(meters):
            store.put_meter(Meter(f"f{n:03d}", f"F{n}", timezone=ZONES[n % len(ZONES)]))
            store.set_schedule(f"f{n:03d}", Schedule.parse(TIMES))
        scheduler = CheckScheduler(store, TimingChecker(), instance_id="bench")
        await scheduler.start(catch_up=False)
        # The adapter opens one listener per meter in the background; a change made in
        # the first ~2 s is seen once that meter's listener is up. Measure steady state.
        await asyncio.sleep(3)
        try:
            singles = []
            for n, times in enumerate((("07:00",), ("07:05", "19:05"), ("08:00",)) * 3):
                meter_id = f"f{n * 5:03d}"
                raw = {"times": list(times), "enabled": True}
                began = time.perf_counter()
                await asyncio.to_thread(rtdb.write, "bench", f"meters/{meter_id}/schedule", raw)
                await _until(lambda m=meter_id, t=times: scheduler.slots(m) == t)  # type: ignore[misc]
                singles.append(time.perf_counter() - began)
            return singles
        finally:
            await scheduler.stop()
            store.close()


def _write_all(store: SqliteStore, schedule: Schedule) -> None:
    for n in range(METERS):
        store.set_schedule(f"m{n:04d}", schedule)


async def bench_lateness(workdir: Path, jobs: int = 5, rounds: int = 4) -> list[float]:
    """Seconds between each job's set time and its check starting."""
    store = SqliteStore(workdir / "late.db")
    zone = ZoneInfo("Asia/Jakarta")
    lateness: list[float] = []
    try:
        for round_no in range(rounds):
            checker = TimingChecker()
            scheduler = CheckScheduler(store, checker, instance_id="bench")
            await scheduler.start(catch_up=False)
            slot = datetime.now(zone).strftime("%H:%M")  # due now, so the claim is in grace
            targets: dict[str, float] = {}
            base = time.time() + 2.0
            for n in range(jobs):
                meter_id = f"late{round_no}-{n}"
                scheduler.apply_schedule(meter_id, Schedule.parse([slot]), zone.key)
                target = base + 0.1 * n
                job = scheduler.apscheduler.get_job(f"check:{meter_id}:{slot}")
                job.modify(next_run_time=datetime.fromtimestamp(target, UTC))
                targets[meter_id] = target
            await _until(lambda c=checker: len(c.started) == jobs, timeout=15)  # type: ignore[misc]
            lateness.extend(checker.started[m] - t for m, t in targets.items())
            await scheduler.stop()
    finally:
        store.close()
    return lateness


async def bench_natural(workdir: Path, jobs: int = 3) -> list[float]:
    """Untouched cron jobs at the next whole minute: seconds late (waits up to 60 s)."""
    store = SqliteStore(workdir / "natural.db")
    checker = TimingChecker()
    scheduler = CheckScheduler(store, checker, instance_id="bench")
    zone = ZoneInfo("Asia/Makassar")
    try:
        await scheduler.start(catch_up=False)
        now = datetime.now(zone)
        if now.second > 50:  # too close: use the minute after
            now += timedelta(seconds=15)
        target = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
        slot = target.strftime("%H:%M")
        for n in range(jobs):
            scheduler.apply_schedule(f"nat{n}", Schedule.parse([slot]), zone.key)
        await _until(lambda: len(checker.started) == jobs, timeout=90)
        return [started - target.timestamp() for started in checker.started.values()]
    finally:
        await scheduler.stop()
        store.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
        f"max {max(values) * 1000:.1f} ms (n={len(values)})"
    )


async def main(natural: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        scheduled, rescheduled = await bench_apply(workdir)
        print(f"schedule   {METERS} meters x {len(TIMES)} times (one batch): {scheduled:.3f} s")
        print(
            f"reschedule {METERS} meters x {len(TIMES)} times (meter by meter, 3 of 4 "
            f"times change): {rescheduled:.3f} s"
        )
        startup, write_s, bulk, singles = await bench_live(workdir)
        print(f"start-up with {METERS * len(TIMES)} jobs from SQLite: {startup:.3f} s")
        print(
            f"live change of all {METERS} schedules (SQLite, other connection): "
            f"writes {write_s:.3f} s, then jobs in place after {bulk:.3f} s"
        )
        print(f"live change of one meter, write -> jobs in place: {_ms(singles)}")
        firebase_singles = await bench_firebase(workdir)
        print(f"live change of one meter in Firebase (local RTDB): {_ms(firebase_singles)}")
        print(f"check start after its time (set 2 s ahead): {_ms(await bench_lateness(workdir))}")
        if natural:
            natural_lateness = await bench_natural(workdir)
            print(f"check start after its time (cron, next minute): {_ms(natural_lateness)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--natural", action="store_true", help="also wait for a real cron minute (<= 60 s)"
    )
    asyncio.run(main(parser.parse_args().natural))
