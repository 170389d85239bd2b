"""SqliteStore: the store contract plus WAL, migrations and a real kill."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tokenmeter.store.contract import StoreContract
from tokenmeter.store.sqlite import SqliteStore
from tokenmeter.store.sqlite_schema import SCHEMA_VERSION


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "tokenmeter.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


@pytest.fixture
def second_store(db_path: Path, store: SqliteStore) -> Iterator[SqliteStore]:
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[store]\nbackend = "sqlite"\nsqlite_path = "{db_path}"\n', encoding="utf-8")
    return path


@pytest.fixture
def write_raw_schedule(db_path: Path, store: SqliteStore) -> Callable[[str, Any], None]:
    def write(meter_id: str, raw: Any) -> None:
        with sqlite3.connect(db_path) as conn:
            conn.execute(
                "INSERT OR REPLACE INTO schedules (meter_id, data) VALUES (?, ?)",
                (meter_id, json.dumps(raw)),
            )

    return write


class TestSqliteContract(StoreContract):
    """The shared contract against SQLite."""


def test_wal_mode_and_schema_version(store: SqliteStore, db_path: Path) -> None:
    """The file is in WAL mode and records the schema version."""
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == (
            SCHEMA_VERSION
        )


def test_reopening_keeps_data_and_version(db_path: Path) -> None:
    """Opening an existing file migrates nothing twice and keeps the data."""
    from tests.tokenmeter.store.contract import make_reading

    first = SqliteStore(db_path)
    first.add_reading(make_reading("rumah", 1))
    first.close()
    second = SqliteStore(db_path)
    try:
        assert [r.id for r in second.last_readings("rumah", 5)] == ["r00001"]
    finally:
        second.close()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused(db_path: Path) -> None:
    """A file written by a newer tokenmeter is not touched."""
    SqliteStore(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(RuntimeError, match="newer"):
        SqliteStore(db_path)


def test_malformed_json_schedule_reads_as_none(db_path: Path, store: SqliteStore) -> None:
    """A schedule row that is not JSON at all is read as None, not an error."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO schedules (meter_id, data) VALUES ('rumah', '{oops')")
    assert store.get_schedule("rumah") is None


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tokenmeter.domain import Reading, ReadingStatus
from tokenmeter.store.sqlite import SqliteStore

store = SqliteStore(Path(sys.argv[1]))
t0 = datetime(2026, 1, 1, tzinfo=UTC)
i = 0
while True:
    store.add_reading(Reading(f"r{i:07d}", "rumah", t0 + timedelta(seconds=i), 50.0 - i / 1000,
                              "50.00", 0.9, "schedule", ReadingStatus.OK))
    print(f"r{i:07d}", flush=True)
    i += 1
"""


def test_killed_writer_loses_nothing_acknowledged(db_path: Path) -> None:
    """SIGKILL mid-writes: every acknowledged reading is there and the file is sound."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(300)]
    proc.send_signal(signal.SIGKILL)
    acknowledged += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened = SqliteStore(db_path)
    try:
        stored = {r.id for r in reopened.last_readings("rumah", 1_000_000)}
        latest = reopened.latest_reading("rumah")
    finally:
        reopened.close()
    assert set(acknowledged) <= stored
    assert latest is not None and latest.id >= acknowledged[-1]
