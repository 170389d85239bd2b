"""Store benchmark: append 10,000 readings, then fetch the last 100.

Targets: SQLite under 2 s in total; the Firebase adapter against the local
Realtime Database server (tests/servers/firebase_rtdb.py) under 20 s.

    .venv/bin/python bench/store.py [--count 10000] [--last 100]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tokenmeter.domain import Reading, ReadingStatus
from tokenmeter.store.base import Store
from tokenmeter.store.firebase import FirebaseStore
from tokenmeter.store.sqlite import SqliteStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def readings(count: int) -> list[Reading]:
    return [
        Reading(
            id=f"r{i:07d}",
            meter_id="rumah",
            ts=T0 + timedelta(minutes=i),
            kwh=round(500 - i * 0.01, 2),
            text=f"{500 - i * 0.01:.2f}",
            confidence=0.97,
            source="bench",
            status=ReadingStatus.OK,
        )
        for i in range(count)
    ]


def run(name: str, store: Store, count: int, last: int) -> tuple[float, float]:
    batch = readings(count)
    start = time.perf_counter()
    for reading in batch:
        store.add_reading(reading)
    appended = time.perf_counter()
    fetched = store.last_readings("rumah", last)
    done = time.perf_counter()
    assert [r.id for r in fetched] == [r.id for r in batch[-last:]], "wrong last readings"
    print(
        f"{name:<28} append {count}: {appended - start:6.2f} s   "
        f"last {last}: {(done - appended) * 1000:7.1f} ms   total {done - start:6.2f} s"
    )
    return appended - start, done - appended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--last", type=int, default=100)
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_store = SqliteStore(Path(tmp) / "bench.db")
        try:
            run("SqliteStore", sqlite_store, args.count, args.last)
        finally:
            sqlite_store.close()
        with FirebaseRtdbServer() as server:
            firebase_store = FirebaseStore(server.url("bench"), outbox_path=Path(tmp) / "ob.db")
            try:
                run("FirebaseStore (local RTDB)", firebase_store, args.count, args.last)
            finally:
                firebase_store.close()


if __name__ == "__main__":
    main()
