"""The local outbox, and the Firebase adapter losing nothing while the server is cut."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tests.tokenmeter.store.contract import make_reading, make_topup
from tokenmeter.domain import DeviceStatus, TopUpStatus, utcnow
from tokenmeter.errors import StoreUnavailable
from tokenmeter.store.firebase import FirebaseStore
from tokenmeter.store.outbox import Outbox


def test_outbox_keeps_order_across_reopen(tmp_path: Path) -> None:
    """Entries come back oldest first, also after the file is reopened."""
    outbox = Outbox(tmp_path / "o.db", namespace="db1")
    for index in range(5):
        outbox.append("reading", "rumah", f"r{index}", {"n": index})
    outbox.close()
    reopened = Outbox(tmp_path / "o.db", namespace="db1")
    try:
        entries = reopened.pending()
        assert [e.payload["n"] for e in entries] == [0, 1, 2, 3, 4]
        reopened.remove(entries[0].seq)
        assert [e.key for e in reopened.pending(2)] == ["r1", "r2"]
        assert reopened.count() == 4
    finally:
        reopened.close()


def test_outbox_namespaces_are_separate(tmp_path: Path) -> None:
    """Two databases sharing one file never see each other's entries or top-ups."""
    first = Outbox(tmp_path / "o.db", namespace="db1")
    second = Outbox(tmp_path / "o.db", namespace="db2")
    try:
        first.append("device", "rumah", "keypad", {"online": True})
        first.remember_topup("rumah", "t1", "h1", {"status": "PENDING"})
        assert second.count() == 0
        assert second.pending() == []
        assert second.known_hash("rumah", "h1") is None
        assert first.known_hash("rumah", "h1") == "t1"
        assert first.known_topup("rumah", "t1") == {"status": "PENDING"}
    finally:
        first.close()
        second.close()


@pytest.fixture
def rtdb() -> Iterator[FirebaseRtdbServer]:
    with FirebaseRtdbServer() as server:
        yield server


def _open(rtdb: FirebaseRtdbServer, path: Path) -> FirebaseStore:
    return FirebaseStore(
        rtdb.url("cut"),
        outbox_path=path,
        retry_attempts=2,
        retry_backoff_s=0.05,
        flush_interval_s=0.2,
    )


def _wait_flushed(store: FirebaseStore, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while store.queued_writes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.queued_writes == 0, "the outbox was not flushed"


def test_server_cut_mid_run_loses_nothing(rtdb: FirebaseRtdbServer, tmp_path: Path) -> None:
    """Readings written while the server is away arrive, in order, when it returns."""
    store = _open(rtdb, tmp_path / "outbox.db")
    total = 120
    written = threading.Event()

    def writer() -> None:
        for minute in range(total):
            store.add_reading(make_reading("rumah", minute, kwh=100 - minute / 10))
            time.sleep(0.01)
        written.set()

    thread = threading.Thread(target=writer)
    try:
        thread.start()
        time.sleep(0.3)
        rtdb.stop()
        time.sleep(1.0)
        with pytest.raises(StoreUnavailable):
            store.last_readings("rumah", 1)
        rtdb.start()
        thread.join(timeout=60)
        assert written.is_set()
        _wait_flushed(store)
        stored = store.last_readings("rumah", 1000)
        assert [r.id for r in stored] == [f"r{m:05d}" for m in range(total)]
        latest = store.latest_reading("rumah")
        assert latest is not None and latest.id == f"r{total - 1:05d}"
    finally:
        thread.join(timeout=60)
        store.close()


def test_topups_and_devices_queue_while_away(rtdb: FirebaseRtdbServer, tmp_path: Path) -> None:
    """Top-up changes and device states made offline are decided locally and replayed."""
    store = _open(rtdb, tmp_path / "outbox.db")
    try:
        topup = make_topup("rumah", "t1")
        assert store.create_topup(topup)
        rtdb.stop()
        sent = topup.moved(TopUpStatus.SENT)
        assert store.transition_topup("rumah", "t1", frozenset({TopUpStatus.PENDING}), sent)
        assert not store.transition_topup(
            "rumah", "t1", frozenset({TopUpStatus.PENDING}), topup.moved(TopUpStatus.QUEUED)
        )
        assert not store.create_topup(make_topup("rumah", "t2"))  # same token, known here
        other = make_topup("rumah", "t3", digits="11112222333344445555")
        assert store.create_topup(other)
        store.set_device_status("rumah", DeviceStatus("keypad", False, utcnow()))
        assert store.get_topup("rumah", "t1") == sent
        assert store.queued_writes == 3  # transition, t3, device
        rtdb.start()
        _wait_flushed(store)
        assert store.get_topup("rumah", "t1") == sent
        assert store.get_topup("rumah", "t3") == other
        assert store.find_topup_by_hash("rumah", other.hash) == other
        assert [d.online for d in store.get_device_statuses("rumah")] == [False]
    finally:
        store.close()


def test_queue_survives_a_restart(rtdb: FirebaseRtdbServer, tmp_path: Path) -> None:
    """Writes queued when the process stops are flushed by the next process."""
    first = _open(rtdb, tmp_path / "outbox.db")
    rtdb.stop()
    first.add_reading(make_reading("rumah", 1))
    first.add_reading(make_reading("rumah", 2))
    first.close()
    rtdb.start()
    second = _open(rtdb, tmp_path / "outbox.db")
    try:
        _wait_flushed(second)
        assert [r.id for r in second.last_readings("rumah", 10)] == ["r00001", "r00002"]
    finally:
        second.close()


def test_schedule_watch_recovers_after_a_cut(rtdb: FirebaseRtdbServer, tmp_path: Path) -> None:
    """A watch keeps working after the server was away (listeners are re-made)."""
    import queue

    from tokenmeter.domain import Schedule

    store = _open(rtdb, tmp_path / "outbox.db")
    calls: queue.Queue[tuple[str, Schedule | None]] = queue.Queue()
    subscription = store.watch_schedules(lambda m, s: calls.put((m, s)))
    try:
        store.set_schedule("rumah", Schedule(("06:00",)))
        assert calls.get(timeout=5) == ("rumah", Schedule(("06:00",)))
        rtdb.stop()
        time.sleep(3.5)  # longer than the SDK's own 3 s reconnect delay: its thread dies
        rtdb.start()
        store.set_schedule("rumah", Schedule(("07:00",)))
        assert calls.get(timeout=10) == ("rumah", Schedule(("07:00",)))
    finally:
        subscription.close()
        store.close()
