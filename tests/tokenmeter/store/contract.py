"""The store contract: every adapter's test module subclasses ``StoreContract``.

A subclass provides the fixtures:
- ``store``: a fresh, empty store;
- ``second_store``: another instance (another connection/client) on the same data;
- ``config_file``: a TOML config that opens the same data (used by another process);
- ``write_raw_schedule``: writes any raw value as a meter's stored schedule.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.tokenmeter.store.contract_people import PeopleContract
from tests.tokenmeter.store.contract_registry import MeterRegistryContract
from tests.tokenmeter.store.contract_topup_messages import TopUpMessagesContract
from tokenmeter.config import load_config
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    Schedule,
    TopUp,
    TopUpStatus,
    token_hash,
)
from tokenmeter.profile import MeterProfile, Reference
from tokenmeter.store.base import Store
from tokenmeter.store.factory import open_store

# The store promises a call within 2 s; a little slack for a loaded CI machine.
WATCH_WAIT_S = 3.0
T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)

ScheduleCalls = queue.Queue[tuple[str, Schedule | None]]


def make_reading(meter_id: str, minutes: int, kwh: float | None = 50.0, **kw: Any) -> Reading:
    fields: dict[str, Any] = {
        "id": f"r{minutes:05d}",
        "meter_id": meter_id,
        "ts": T0 + timedelta(minutes=minutes),
        "kwh": kwh,
        "text": "" if kwh is None else f"{kwh:.2f}",
        "confidence": 0.97,
        "source": "schedule",
        "status": ReadingStatus.OK,
    }
    fields.update(kw)
    return Reading(**fields)


def make_topup(meter_id: str, topup_id: str, digits: str = "12345678901234567890") -> TopUp:
    return TopUp(
        id=topup_id,
        meter_id=meter_id,
        ts=T0,
        masked="****-****-****-****-" + digits[-4:],
        hash=token_hash(meter_id, digits),
        status=TopUpStatus.PENDING,
        source="cli",
    ).moved(TopUpStatus.PENDING, "stored")


def make_profile(*texts: str) -> MeterProfile:
    """A profile with a quad, 2 decimals, no flash and one reference per text (PNG
    bytes of every value 0-255, so nothing is lost as text)."""
    references = tuple(
        Reference(f"ref-{i:02d}", text, bytes(range(256)) + text.encode(), "enrol", T0)
        for i, text in enumerate(texts)
    )
    quad = ((10.5, 20.0), (300.0, 22.0), (301.0, 80.25), (11.0, 79.0))
    return MeterProfile(quad, 6, 2, False, references, T0)


def next_call(calls: ScheduleCalls) -> tuple[str, Schedule | None]:
    return calls.get(timeout=WATCH_WAIT_S)


def wait_for(calls: ScheduleCalls, meter_id: str, wanted: Schedule | None) -> None:
    """Drain calls until ``(meter_id, wanted)`` arrives; fail after WATCH_WAIT_S."""
    deadline = time.monotonic() + WATCH_WAIT_S
    seen: list[tuple[str, Schedule | None]] = []
    while time.monotonic() < deadline:
        try:
            call = calls.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        seen.append(call)
        if call == (meter_id, wanted):
            return
    raise AssertionError(f"no call {(meter_id, wanted)} within {WATCH_WAIT_S}s; got {seen}")


def race(*actions: Callable[[], bool]) -> list[bool]:
    """Run the actions at the same moment in threads; their results in order."""
    barrier = threading.Barrier(len(actions))
    results: list[bool | None] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = actions[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None for r in results), "a racer did not finish"
    return [bool(r) for r in results]


def set_schedule_in_other_process(config_file: Path, meter_id: str, times: list[str]) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tokenmeter.config import load_config\n"
        "from tokenmeter.domain import Schedule\n"
        "from tokenmeter.store.factory import open_store\n"
        "store = open_store(load_config(Path(sys.argv[1])), seed=False)\n"
        "store.set_schedule(sys.argv[2], Schedule.parse(sys.argv[3:]))\n"
        "store.close()\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(config_file), meter_id, *times],
        check=True,
        timeout=60,
    )


class StoreContract(MeterRegistryContract, PeopleContract, TopUpMessagesContract):
    # -- meters ------------------------------------------------------------------
    def test_meter_round_trip(self, store: Store) -> None:
        """A meter is stored, replaced and listed by id."""
        store.put_meter(Meter("kos-2", "Kos 2", "Asia/Makassar", 5.5, "http://cam/capture"))
        store.put_meter(Meter("rumah", "Rumah"))
        store.put_meter(Meter("rumah", "Rumah Baru", low_kwh=7.0))
        assert store.get_meter("kos-2") == Meter(
            "kos-2", "Kos 2", "Asia/Makassar", 5.5, "http://cam/capture"
        )
        assert store.get_meter("rumah") == Meter("rumah", "Rumah Baru", low_kwh=7.0)
        assert [m.id for m in store.list_meters()] == ["kos-2", "rumah"]

    def test_unknown_meter_is_none(self, store: Store) -> None:
        """Unknown ids give None and empty lists, not errors."""
        assert store.get_meter("nope") is None
        assert store.get_schedule("nope") is None
        assert store.latest_reading("nope") is None
        assert store.last_readings("nope", 5) == []
        assert store.list_topups("nope") == []
        assert store.get_device_statuses("nope") == []
        assert store.last_slot_run("nope", "06:00") is None

    # -- profiles ------------------------------------------------------------------
    def test_profile_round_trip(self, store: Store) -> None:
        """A profile comes back whole: quad, digits, decimals, flash, reference PNGs."""
        assert store.get_profile("rumah") is None
        profile = make_profile("123.45", "120.07")
        store.put_profile("rumah", profile)
        assert store.get_profile("rumah") == profile
        assert store.get_profile("kos-2") is None

    def test_profile_replaced_whole(self, store: Store) -> None:
        """Putting a profile again replaces its references; an empty one is kept empty."""
        store.put_profile("rumah", make_profile("123.45", "120.07"))
        store.put_profile("rumah", make_profile("99.10"))
        assert store.get_profile("rumah") == make_profile("99.10")
        store.put_profile("rumah", MeterProfile())
        assert store.get_profile("rumah") == MeterProfile()

    def test_profile_survives_a_restart(self, store: Store, config_file: Path) -> None:
        """A profile written, the store closed, is there in a store opened afresh."""
        profile = make_profile("123.45", "7.00", "0.50")
        store.put_profile("rumah", profile)
        store.close()
        reopened = open_store(load_config(config_file), seed=False)
        try:
            assert reopened.get_profile("rumah") == profile
        finally:
            reopened.close()

    # -- schedules -----------------------------------------------------------------
    def test_schedule_round_trip(self, store: Store) -> None:
        """A schedule is stored and replaced, including an empty disabled one."""
        store.set_schedule("rumah", Schedule(("06:00", "18:00")))
        assert store.get_schedule("rumah") == Schedule(("06:00", "18:00"))
        store.set_schedule("rumah", Schedule((), enabled=False))
        assert store.get_schedule("rumah") == Schedule((), enabled=False)

    # -- readings --------------------------------------------------------------------
    def test_readings_are_time_ordered(self, store: Store) -> None:
        """Readings come back oldest first whatever the insertion order."""
        for minutes in (30, 10, 20, 40):
            store.add_reading(make_reading("rumah", minutes, kwh=100 - minutes))
        assert [r.id for r in store.last_readings("rumah", 10)] == [
            "r00010",
            "r00020",
            "r00030",
            "r00040",
        ]
        assert [r.id for r in store.last_readings("rumah", 2)] == ["r00030", "r00040"]
        assert store.last_readings("rumah", 0) == []

    def test_latest_is_the_last_added(self, store: Store) -> None:
        """``latest`` is the reading added last, fields intact."""
        store.add_reading(make_reading("rumah", 1, kwh=51.25))
        failed = make_reading(
            "rumah",
            2,
            kwh=None,
            status=ReadingStatus.CAMERA_ERROR,
            error="camera_unavailable",
            confidence=0.0,
        )
        store.add_reading(failed)
        assert store.latest_reading("rumah") == failed
        assert store.last_readings("rumah", 1) == [failed]

    def test_reading_fields_round_trip(self, store: Store) -> None:
        """Every field of a reading survives, and a non-UTC time comes back as UTC."""
        wib = timezone(timedelta(hours=7))
        reading = make_reading(
            "rumah",
            0,
            kwh=12.34,
            ts=datetime(2026, 11, 20, 13, 0, 0, 123456, tzinfo=wib),
            photo="data/photos/rumah/x.jpg",
            source="telegram",
            status=ReadingStatus.UNVERIFIED,
        )
        store.add_reading(reading)
        (back,) = store.last_readings("rumah", 1)
        assert back == reading
        assert back.ts.utcoffset() == timedelta(0)

    def test_range_query_is_inclusive(self, store: Store) -> None:
        """``readings_between`` includes both ends and nothing outside."""
        for minutes in range(0, 60, 10):
            store.add_reading(make_reading("rumah", minutes))
        store.add_reading(make_reading("kos-1", 20))
        found = store.readings_between(
            "rumah", T0 + timedelta(minutes=10), T0 + timedelta(minutes=30)
        )
        assert [r.id for r in found] == ["r00010", "r00020", "r00030"]
        assert all(r.meter_id == "rumah" for r in found)

    def test_meters_are_separate(self, store: Store) -> None:
        """Readings of one meter never show up under another."""
        store.add_reading(make_reading("rumah", 1, kwh=10))
        store.add_reading(make_reading("kos-1", 2, kwh=20))
        assert [r.kwh for r in store.last_readings("rumah", 5)] == [10]
        latest = store.latest_reading("kos-1")
        assert latest is not None and latest.kwh == 20

    # -- top-ups -------------------------------------------------------------------------
    def test_topup_round_trip(self, store: Store) -> None:
        """A top-up with its status history is stored and found by id and hash."""
        topup = make_topup("rumah", "t1")
        assert store.create_topup(topup)
        assert store.get_topup("rumah", "t1") == topup
        assert store.find_topup_by_hash("rumah", topup.hash) == topup
        assert store.find_topup_by_hash("rumah", "0" * 64) is None
        assert store.get_topup("kos-1", "t1") is None

    def test_known_hash_is_refused(self, store: Store) -> None:
        """A second top-up with a known token hash is refused and not written."""
        assert store.create_topup(make_topup("rumah", "t1"))
        assert not store.create_topup(make_topup("rumah", "t2"))
        assert store.get_topup("rumah", "t2") is None
        assert [t.id for t in store.list_topups("rumah")] == ["t1"]
        assert store.create_topup(make_topup("kos-1", "t3"))  # another meter: allowed

    def test_transition_is_compare_and_set(self, store: Store) -> None:
        """A transition happens only from an expected status; history is kept."""
        topup = make_topup("rumah", "t1")
        store.create_topup(topup)
        sent = topup.moved(TopUpStatus.SENT, "published", before=40.5)
        assert store.transition_topup("rumah", "t1", frozenset({TopUpStatus.PENDING}), sent)
        confirmed = sent.moved(TopUpStatus.CONFIRMED, after=60.5)
        assert not store.transition_topup(
            "rumah", "t1", frozenset({TopUpStatus.PENDING}), confirmed
        )
        assert store.get_topup("rumah", "t1") == sent
        assert store.transition_topup("rumah", "t1", frozenset({TopUpStatus.SENT}), confirmed)
        stored = store.get_topup("rumah", "t1")
        assert stored == confirmed
        assert stored is not None and stored.credit == 20.0
        assert [c.status for c in stored.history] == [
            TopUpStatus.PENDING,
            TopUpStatus.SENT,
            TopUpStatus.CONFIRMED,
        ]

    def test_transition_of_unknown_topup_fails(self, store: Store) -> None:
        """Moving a top-up that does not exist writes nothing."""
        ghost = make_topup("rumah", "ghost").moved(TopUpStatus.SENT)
        assert not store.transition_topup("rumah", "ghost", frozenset(TopUpStatus), ghost)
        assert store.get_topup("rumah", "ghost") is None

    def test_two_writers_cannot_both_move_pending(self, store: Store, second_store: Store) -> None:
        """Of two simultaneous PENDING → x moves, exactly one wins."""
        topup = make_topup("rumah", "t1")
        store.create_topup(topup)
        pending = frozenset({TopUpStatus.PENDING})
        sent = topup.moved(TopUpStatus.SENT, "writer A")
        queued = topup.moved(TopUpStatus.QUEUED, "writer B")
        results = race(
            lambda: store.transition_topup("rumah", "t1", pending, sent),
            lambda: second_store.transition_topup("rumah", "t1", pending, queued),
        )
        assert sorted(results) == [False, True]
        winner = sent if results[0] else queued
        assert store.get_topup("rumah", "t1") == winner

    def test_two_creators_of_one_token(self, store: Store, second_store: Store) -> None:
        """Two simultaneous creations with the same token: exactly one is stored."""
        results = race(
            lambda: store.create_topup(make_topup("rumah", "a")),
            lambda: second_store.create_topup(make_topup("rumah", "b")),
        )
        assert sorted(results) == [False, True]
        assert len(store.list_topups("rumah")) == 1

    def test_list_topups_filters(self, store: Store) -> None:
        """Top-ups are listed oldest first, by status and the last N."""
        for index in range(4):
            topup = make_topup("rumah", f"t{index}", digits=f"{index:020d}")
            topup = TopUp(**{**topup.__dict__, "ts": T0 + timedelta(minutes=index)})
            store.create_topup(topup)
        queued = store.get_topup("rumah", "t1")
        assert queued is not None
        store.transition_topup(
            "rumah", "t1", frozenset({TopUpStatus.PENDING}), queued.moved(TopUpStatus.QUEUED)
        )
        assert [t.id for t in store.list_topups("rumah")] == ["t0", "t1", "t2", "t3"]
        assert [t.id for t in store.list_topups("rumah", last=2)] == ["t2", "t3"]
        only_queued = store.list_topups("rumah", statuses=frozenset({TopUpStatus.QUEUED}))
        assert [t.id for t in only_queued] == ["t1"]
        pending = store.list_topups("rumah", statuses=frozenset({TopUpStatus.PENDING}), last=1)
        assert [t.id for t in pending] == ["t3"]

    # -- devices --------------------------------------------------------------------------
    def test_device_statuses(self, store: Store) -> None:
        """The last status of each device is kept, by name."""
        store.set_device_status("rumah", DeviceStatus("keypad", True, T0, "1.0"))
        store.set_device_status("rumah", DeviceStatus("camera", True, T0))
        store.set_device_status("rumah", DeviceStatus("keypad", False, T0 + timedelta(hours=1)))
        assert store.get_device_statuses("rumah") == [
            DeviceStatus("camera", True, T0),
            DeviceStatus("keypad", False, T0 + timedelta(hours=1)),
        ]

    # -- slots ------------------------------------------------------------------------------
    def test_claim_slot_once_per_occurrence(self, store: Store) -> None:
        """A slot run is claimed once; a later run can be claimed again."""
        assert store.claim_slot("rumah", "06:00", T0, "a")
        assert not store.claim_slot("rumah", "06:00", T0, "b")
        assert not store.claim_slot("rumah", "06:00", T0 - timedelta(days=1), "b")
        assert store.last_slot_run("rumah", "06:00") == T0
        assert store.claim_slot("rumah", "18:00", T0 + timedelta(hours=12), "b")
        assert store.claim_slot("rumah", "06:00", T0 + timedelta(days=1), "b")
        assert store.last_slot_run("rumah", "06:00") == T0 + timedelta(days=1)

    def test_claim_slot_race(self, store: Store, second_store: Store) -> None:
        """Two instances claiming the same run at once: exactly one gets it."""
        results = race(
            lambda: store.claim_slot("rumah", "06:00", T0, "a"),
            lambda: second_store.claim_slot("rumah", "06:00", T0, "b"),
        )
        assert sorted(results) == [False, True]

    # -- watching schedules -------------------------------------------------------------------
    def test_watch_reports_every_schedule_first(self, store: Store) -> None:
        """A new watch is told every stored schedule."""
        store.set_schedule("rumah", Schedule(("06:00",)))
        store.set_schedule("kos-1", Schedule(("07:30", "19:30")))
        calls: ScheduleCalls = queue.Queue()
        subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
        try:
            got = {next_call(calls), next_call(calls)}
            assert got == {
                ("rumah", Schedule(("06:00",))),
                ("kos-1", Schedule(("07:30", "19:30"))),
            }
        finally:
            subscription.close()

    def test_watch_sees_changes(self, store: Store, second_store: Store) -> None:
        """Changes through this and another instance reach the watcher."""
        store.set_schedule("rumah", Schedule(("06:00",)))
        calls: ScheduleCalls = queue.Queue()
        subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
        try:
            wait_for(calls, "rumah", Schedule(("06:00",)))
            store.set_schedule("rumah", Schedule(("06:00", "12:00")))
            wait_for(calls, "rumah", Schedule(("06:00", "12:00")))
            second_store.set_schedule("rumah", Schedule(("05:00",)))
            wait_for(calls, "rumah", Schedule(("05:00",)))
        finally:
            subscription.close()

    def test_watch_sees_another_process(self, store: Store, config_file: Path) -> None:
        """A schedule written by another process reaches the watcher."""
        store.set_schedule("rumah", Schedule(("06:00",)))
        calls: ScheduleCalls = queue.Queue()
        subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
        try:
            wait_for(calls, "rumah", Schedule(("06:00",)))
            set_schedule_in_other_process(config_file, "rumah", ["21:15"])
            wait_for(calls, "rumah", Schedule(("21:15",)))
        finally:
            subscription.close()

    def test_malformed_schedule_gives_none(
        self, store: Store, write_raw_schedule: Callable[[str, Any], None]
    ) -> None:
        """A malformed stored schedule is reported as None, and read as None."""
        store.set_schedule("rumah", Schedule(("06:00",)))
        calls: ScheduleCalls = queue.Queue()
        subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
        try:
            wait_for(calls, "rumah", Schedule(("06:00",)))
            write_raw_schedule("rumah", {"times": ["25:00"], "enabled": True})
            wait_for(calls, "rumah", None)
            assert store.get_schedule("rumah") is None
            store.set_schedule("rumah", Schedule(("07:00",)))
            wait_for(calls, "rumah", Schedule(("07:00",)))
        finally:
            subscription.close()

    def test_closed_watch_stops_calling(self, store: Store) -> None:
        """After close() returns, no more calls arrive."""
        calls: ScheduleCalls = queue.Queue()
        subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
        store.set_schedule("rumah", Schedule(("06:00",)))
        wait_for(calls, "rumah", Schedule(("06:00",)))
        subscription.close()
        store.set_schedule("rumah", Schedule(("08:00",)))
        time.sleep(1.0)
        assert calls.empty()

    def test_store_close_ends_watches(self, store: Store) -> None:
        """Closing the store stops its watches and their threads."""
        before = set(threading.enumerate())
        store.watch_schedules(lambda m, s: None)
        store.watch_schedules(lambda m, s: None)
        store.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and set(threading.enumerate()) - before:
            time.sleep(0.05)
        assert not {t for t in set(threading.enumerate()) - before if t.is_alive()}
