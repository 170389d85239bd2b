"""Schedules, watching them, and the scheduler's slot claims in SQLite.

Watchers poll the ``schedules`` change counter, which triggers keep up to date
(``sqlite_schema``), so changes made by another process are seen too.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from tokenmeter.domain import Schedule
from tokenmeter.store.base import ScheduleCallback, Subscription
from tokenmeter.store.records import parse_ts, schedule_to_dict, ts_text
from tokenmeter.store.schedule_watch import ScheduleDiffer, parse_stored_schedule
from tokenmeter.store.sqlite.connection import SqliteConnection, connect, log

WATCH_INTERVAL_S = 0.5


class SqliteSchedules(SqliteConnection):
    """Check schedules with their watch, and the claims of each slot's runs."""

    # -- schedules -------------------------------------------------------------------
    def get_schedule(self, meter_id: str) -> Schedule | None:
        rows = self._read("SELECT data FROM schedules WHERE meter_id = ?", (meter_id,))
        if not rows:
            return None
        return parse_stored_schedule(meter_id, _loads_or_text(rows[0][0]))

    def set_schedule(self, meter_id: str, schedule: Schedule) -> None:
        data = json.dumps(schedule_to_dict(schedule))
        with self._write() as conn:
            conn.execute(
                "INSERT INTO schedules (meter_id, data) VALUES (?, ?)"
                " ON CONFLICT (meter_id) DO UPDATE SET data = excluded.data"
                " WHERE data IS NOT excluded.data",
                (meter_id, data),
            )

    def watch_schedules(self, callback: ScheduleCallback) -> Subscription:
        watch = _SqliteScheduleWatch(self.path, callback)
        with self._lock:
            self._watchers.append(watch)
        watch.start()
        return watch

    # -- scheduler slots ---------------------------------------------------------------
    def claim_slot(self, meter_id: str, slot: str, occurrence: datetime, owner: str) -> bool:
        run = ts_text(occurrence)
        with self._write() as conn:
            row = conn.execute(
                "SELECT last_run FROM slots WHERE meter_id = ? AND slot = ?", (meter_id, slot)
            ).fetchone()
            if row is not None and row[0] >= run:
                return False
            conn.execute(
                "INSERT OR REPLACE INTO slots (meter_id, slot, last_run, owner)"
                " VALUES (?, ?, ?, ?)",
                (meter_id, slot, run, owner),
            )
        return True

    def last_slot_run(self, meter_id: str, slot: str) -> datetime | None:
        rows = self._read(
            "SELECT last_run FROM slots WHERE meter_id = ? AND slot = ?", (meter_id, slot)
        )
        return parse_ts(rows[0][0]) if rows else None


def _loads_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text  # malformed: reported as such by the parser


class _SqliteScheduleWatch(Subscription):
    """Polls the schedule change counter on its own connection, in its own thread."""

    def __init__(self, path: Path, callback: ScheduleCallback) -> None:
        self._path = path
        self._differ = ScheduleDiffer(callback)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-schedule-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        conn = connect(self._path)
        try:
            version: int | None = None
            while not self._stop.is_set():
                try:
                    version = self._poll(conn, version)
                except sqlite3.Error:
                    log.warning("schedule watch: database error; retrying", exc_info=True)
                self._stop.wait(WATCH_INTERVAL_S)
        finally:
            conn.close()

    def _poll(self, conn: sqlite3.Connection, seen: int | None) -> int:
        row = conn.execute("SELECT value FROM change_counters WHERE name = 'schedules'").fetchone()
        version = int(row[0])
        if version != seen:
            rows = conn.execute("SELECT meter_id, data FROM schedules").fetchall()
            self._differ.replace_all({meter: _loads_or_text(data) for meter, data in rows})
        return version

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
