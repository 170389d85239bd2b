"""The default store: one SQLite file, WAL mode, safe against a killed process.

One connection shared by every thread behind a lock (the store is called from
worker threads through ``asyncio.to_thread``); every write is one
``BEGIN IMMEDIATE`` transaction, so compare-and-set also holds against other
processes using the same file. Schedule watchers poll a change counter kept up
to date by triggers, so changes made by another process are seen too.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenmeter.access import Person
from tokenmeter.domain import DeviceStatus, Meter, Reading, Schedule, TopUp, TopUpStatus
from tokenmeter.profile import MeterProfile, ProfileError, profile_from_dict
from tokenmeter.store.base import ScheduleCallback, Store, Subscription
from tokenmeter.store.records import (
    history_from_list,
    history_to_list,
    parse_ts,
    person_from_dict,
    person_to_dict,
    reading_from_dict,
    schedule_to_dict,
    ts_text,
)
from tokenmeter.store.schedule_watch import ScheduleDiffer, parse_stored_schedule
from tokenmeter.store.sqlite_schema import migrate

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 0.5
BUSY_TIMEOUT_MS = 10_000

_READING_COLUMNS = "id, ts, kwh, text, confidence, source, status, photo, error"
_TOPUP_COLUMNS = (
    "id, ts, masked, hash, status, source, before, after, error, photo, history, meter_id"
)


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with autocommit (transactions are explicit)."""
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL in WAL mode: a killed process loses nothing committed; only a power
    # cut may roll back the last transactions (the file stays consistent).
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _reading_from_row(meter_id: str, row: tuple[Any, ...]) -> Reading:
    keys = ("ts", "kwh", "text", "confidence", "source", "status", "photo", "error")
    return reading_from_dict(meter_id, row[0], dict(zip(keys, row[1:], strict=True)))


def _topup_from_row(row: tuple[Any, ...]) -> TopUp:
    return TopUp(
        id=row[0],
        ts=parse_ts(row[1]),
        masked=row[2],
        hash=row[3],
        status=TopUpStatus(row[4]),
        source=row[5],
        before=row[6],
        after=row[7],
        error=row[8],
        photo=row[9],
        history=history_from_list(json.loads(row[10])),
        meter_id=row[11],
    )


def _topup_values(topup: TopUp) -> tuple[Any, ...]:
    return (
        ts_text(topup.ts),
        topup.masked,
        topup.hash,
        topup.status.value,
        topup.source,
        topup.before,
        topup.after,
        topup.error,
        topup.photo,
        json.dumps(history_to_list(topup.history)),
    )


class SqliteStore(Store):
    """``Store`` on one SQLite file (created with its directory when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = connect(self.path)
        migrate(self._conn)
        self._watchers: list[_SqliteScheduleWatch] = []
        self._closed = False

    # -- plumbing ------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- meters --------------------------------------------------------------------
    def put_meter(self, meter: Meter) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meters (id, name, timezone, low_kwh, camera_url)"
                " VALUES (?, ?, ?, ?, ?)",
                (meter.id, meter.name, meter.timezone, meter.low_kwh, meter.camera_url),
            )

    def get_meter(self, meter_id: str) -> Meter | None:
        rows = self._read(
            "SELECT id, name, timezone, low_kwh, camera_url FROM meters WHERE id = ?", (meter_id,)
        )
        return Meter(*rows[0]) if rows else None

    def list_meters(self) -> list[Meter]:
        rows = self._read("SELECT id, name, timezone, low_kwh, camera_url FROM meters ORDER BY id")
        return [Meter(*row) for row in rows]

    # -- meters kept as data ---------------------------------------------------------
    def register_meter(self, meter: Meter) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO meters (id, name, timezone, low_kwh, camera_url)"
                " VALUES (?, ?, ?, ?, ?)",
                (meter.id, meter.name, meter.timezone, meter.low_kwh, meter.camera_url),
            )
            conn.execute(
                "INSERT OR IGNORE INTO meter_registry (meter_id, added) VALUES (?, ?)",
                (meter.id, ts_text(datetime.now(UTC))),
            )

    def unregister_meter(self, meter_id: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM meter_registry WHERE meter_id = ?", (meter_id,))
            return cursor.rowcount > 0

    def registered_meters(self) -> list[Meter]:
        rows = self._read(
            "SELECT m.id, m.name, m.timezone, m.low_kwh, m.camera_url FROM meter_registry r"
            " JOIN meters m ON m.id = r.meter_id ORDER BY m.id"
        )
        return [Meter(*row) for row in rows]

    # -- people ------------------------------------------------------------------------
    def list_people(self) -> list[Person]:
        rows = self._read("SELECT chat_id, role, name, meters FROM people ORDER BY chat_id")
        people = []
        for chat_id, role, name, meters in rows:
            try:
                data = {"role": role, "name": name, "meters": json.loads(meters)}
                people.append(person_from_dict(chat_id, data))
            except ValueError as err:
                log.warning("stored person %s is malformed (%s); skipped", chat_id, err)
        return people

    def put_person(self, person: Person) -> None:
        data = person_to_dict(person)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO people (chat_id, role, name, meters, updated)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    person.chat_id,
                    data["role"],
                    data["name"],
                    json.dumps(data["meters"]),
                    ts_text(datetime.now(UTC)),
                ),
            )

    def remove_person(self, chat_id: int) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM people WHERE chat_id = ?", (chat_id,)).rowcount > 0

    # -- profiles --------------------------------------------------------------------
    def get_profile(self, meter_id: str) -> MeterProfile | None:
        with self._lock:  # one snapshot of the profile and its references
            row = self._conn.execute(
                "SELECT quad, digits, decimals, flash, updated FROM profiles WHERE meter_id = ?",
                (meter_id,),
            ).fetchone()
            refs = self._conn.execute(
                "SELECT id, ts, text, source, png FROM profile_references WHERE meter_id = ?",
                (meter_id,),
            ).fetchall()
        if row is None:
            return None
        data = {
            "quad": json.loads(row[0]) if row[0] else None,
            "digits": row[1],
            "decimals": row[2],
            "flash": bool(row[3]),
            "updated": row[4],
            "references": {
                ref[0]: {"ts": ref[1], "text": ref[2], "source": ref[3], "png": ""} for ref in refs
            },
        }
        try:
            profile = profile_from_dict(data)
        except ProfileError as err:
            log.warning("meter %s: stored profile ignored: %s", meter_id, err)
            return None
        pngs = {ref[0]: bytes(ref[4]) for ref in refs}
        return replace(
            profile, references=tuple(replace(r, png=pngs[r.id]) for r in profile.references)
        )

    def put_profile(self, meter_id: str, profile: MeterProfile) -> None:
        quad = json.dumps([c for p in profile.quad for c in p]) if profile.quad else None
        updated = ts_text(profile.updated) if profile.updated else None
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO profiles (meter_id, quad, digits, decimals, flash, updated)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (meter_id, quad, profile.digits, profile.decimals, int(profile.flash), updated),
            )
            conn.execute("DELETE FROM profile_references WHERE meter_id = ?", (meter_id,))
            conn.executemany(
                "INSERT INTO profile_references (meter_id, id, ts, text, source, png)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (meter_id, r.id, ts_text(r.ts), r.text, r.source, r.png)
                    for r in profile.references
                ],
            )

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

    # -- readings --------------------------------------------------------------------
    def add_reading(self, reading: Reading) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO readings (meter_id, {_READING_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    reading.meter_id,
                    reading.id,
                    ts_text(reading.ts),
                    reading.kwh,
                    reading.text,
                    reading.confidence,
                    reading.source,
                    reading.status.value,
                    reading.photo,
                    reading.error,
                ),
            )
            conn.execute(
                "INSERT OR REPLACE INTO latest (meter_id, reading_id) VALUES (?, ?)",
                (reading.meter_id, reading.id),
            )

    def latest_reading(self, meter_id: str) -> Reading | None:
        rows = self._read(
            f"SELECT {', '.join('r.' + c.strip() for c in _READING_COLUMNS.split(','))}"
            " FROM latest JOIN readings r"
            " ON r.meter_id = latest.meter_id AND r.id = latest.reading_id"
            " WHERE latest.meter_id = ?",
            (meter_id,),
        )
        return _reading_from_row(meter_id, rows[0]) if rows else None

    def last_readings(self, meter_id: str, n: int) -> list[Reading]:
        if n <= 0:
            return []
        rows = self._read(
            f"SELECT {_READING_COLUMNS} FROM readings WHERE meter_id = ?"
            " ORDER BY ts DESC, id DESC LIMIT ?",
            (meter_id, n),
        )
        return [_reading_from_row(meter_id, row) for row in reversed(rows)]

    def readings_between(self, meter_id: str, start: datetime, end: datetime) -> list[Reading]:
        rows = self._read(
            f"SELECT {_READING_COLUMNS} FROM readings WHERE meter_id = ? AND ts >= ? AND ts <= ?"
            " ORDER BY ts, id",
            (meter_id, ts_text(start), ts_text(end)),
        )
        return [_reading_from_row(meter_id, row) for row in rows]

    # -- top-ups ---------------------------------------------------------------------
    def create_topup(self, topup: TopUp) -> bool:
        try:
            with self._write() as conn:
                conn.execute(
                    f"INSERT INTO topups ({_TOPUP_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (topup.id, *_topup_values(topup), topup.meter_id),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def get_topup(self, meter_id: str, topup_id: str) -> TopUp | None:
        rows = self._read(
            f"SELECT {_TOPUP_COLUMNS} FROM topups WHERE meter_id = ? AND id = ?",
            (meter_id, topup_id),
        )
        return _topup_from_row(rows[0]) if rows else None

    def find_topup_by_hash(self, meter_id: str, token_hash: str) -> TopUp | None:
        rows = self._read(
            f"SELECT {_TOPUP_COLUMNS} FROM topups WHERE meter_id = ? AND hash = ?",
            (meter_id, token_hash),
        )
        return _topup_from_row(rows[0]) if rows else None

    def transition_topup(
        self,
        meter_id: str,
        topup_id: str,
        expected: frozenset[TopUpStatus],
        updated: TopUp,
    ) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT status FROM topups WHERE meter_id = ? AND id = ?", (meter_id, topup_id)
            ).fetchone()
            if row is None or TopUpStatus(row[0]) not in expected:
                return False
            conn.execute(
                "UPDATE topups SET ts = ?, masked = ?, hash = ?, status = ?, source = ?,"
                " before = ?, after = ?, error = ?, photo = ?, history = ?"
                " WHERE meter_id = ? AND id = ?",
                (*_topup_values(updated), meter_id, topup_id),
            )
        return True

    def list_topups(
        self,
        meter_id: str,
        statuses: frozenset[TopUpStatus] | None = None,
        last: int | None = None,
    ) -> list[TopUp]:
        sql = f"SELECT {_TOPUP_COLUMNS} FROM topups WHERE meter_id = ?"
        params: list[Any] = [meter_id]
        if statuses is not None:
            if not statuses:
                return []
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params.extend(sorted(s.value for s in statuses))
        sql += " ORDER BY ts DESC, id DESC"
        if last is not None:
            sql += " LIMIT ?"
            params.append(max(last, 0))
        rows = self._read(sql, tuple(params))
        return [_topup_from_row(row) for row in reversed(rows)]

    # -- the chat messages that show a top-up ------------------------------------------
    def set_topup_messages(self, meter_id: str, topup_id: str, messages: Mapping[int, int]) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM topup_messages WHERE meter_id = ? AND topup_id = ?",
                (meter_id, topup_id),
            )
            conn.executemany(
                "INSERT INTO topup_messages (meter_id, topup_id, chat_id, message_id)"
                " VALUES (?, ?, ?, ?)",
                [(meter_id, topup_id, int(c), int(m)) for c, m in messages.items()],
            )

    def topup_messages(self, meter_id: str) -> dict[str, dict[int, int]]:
        rows = self._read(
            "SELECT topup_id, chat_id, message_id FROM topup_messages WHERE meter_id = ?"
            " ORDER BY topup_id, chat_id",
            (meter_id,),
        )
        found: dict[str, dict[int, int]] = {}
        for topup_id, chat_id, message_id in rows:
            found.setdefault(str(topup_id), {})[int(chat_id)] = int(message_id)
        return found

    # -- devices ---------------------------------------------------------------------
    def set_device_status(self, meter_id: str, status: DeviceStatus) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO devices (meter_id, name, online, ts, version)"
                " VALUES (?, ?, ?, ?, ?)",
                (meter_id, status.name, int(status.online), ts_text(status.ts), status.version),
            )

    def get_device_statuses(self, meter_id: str) -> list[DeviceStatus]:
        rows = self._read(
            "SELECT name, online, ts, version FROM devices WHERE meter_id = ? ORDER BY name",
            (meter_id,),
        )
        return [DeviceStatus(row[0], bool(row[1]), parse_ts(row[2]), row[3]) for row in rows]

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

    # -- lifecycle -----------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            watchers, self._watchers = self._watchers, []
        for watch in watchers:
            watch.close()
        with self._lock:
            self._conn.close()


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
