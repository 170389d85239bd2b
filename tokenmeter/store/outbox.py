"""A local, durable queue of writes for a remote store that is away.

Entries live in an SQLite table (WAL, one transaction per entry) and are
handed back oldest first, so they can be replayed in the order they were made.
The same file keeps the last known state of each top-up, so that top-up
decisions (hash refusal, compare-and-set) can still be made while offline.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenmeter.store.sqlite import connect

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
        meter_id TEXT NOT NULL, key TEXT NOT NULL, payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS outbox_topups (
        meter_id TEXT NOT NULL, id TEXT NOT NULL, hash TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (meter_id, id))""",
    "CREATE INDEX IF NOT EXISTS outbox_topups_by_hash ON outbox_topups (meter_id, hash)",
)


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    kind: str  # reading | device | topup_create | topup_transition | topup_messages
    meter_id: str
    key: str  # reading id, device name or top-up id
    payload: dict[str, Any]


class Outbox:
    """The queue; safe to use from several threads."""

    def __init__(self, path: Path, namespace: str = "") -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = connect(path)
        self._namespace = namespace
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._conn.execute("COMMIT")

    def _meter(self, meter_id: str) -> str:
        """Meter key scoped to the remote database (one file may serve several)."""
        return f"{self._namespace}|{meter_id}"

    # -- the queue -----------------------------------------------------------------
    def append(self, kind: str, meter_id: str, key: str, payload: dict[str, Any]) -> int:
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO outbox (kind, meter_id, key, payload) VALUES (?, ?, ?, ?)",
                (kind, self._meter(meter_id), key, json.dumps(payload)),
            )
            return int(cursor.lastrowid or 0)

    def pending(self, limit: int = 100) -> list[OutboxEntry]:
        """The oldest entries of this database, oldest first."""
        prefix = f"{self._namespace}|"
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, kind, meter_id, key, payload FROM outbox"
                " WHERE substr(meter_id, 1, ?) = ? ORDER BY seq LIMIT ?",
                (len(prefix), prefix, limit),
            ).fetchall()
        return [
            OutboxEntry(seq, kind, meter[len(prefix) :], key, json.loads(payload))
            for seq, kind, meter, key, payload in rows
        ]

    def remove(self, seq: int) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def count(self) -> int:
        prefix = f"{self._namespace}|"
        with self._lock:
            row = self._conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE substr(meter_id, 1, ?) = ?",
                (len(prefix), prefix),
            ).fetchone()
        return int(row[0])

    # -- last known top-ups ------------------------------------------------------------
    def remember_topup(self, meter_id: str, topup_id: str, token_hash: str, data: Any) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO outbox_topups (meter_id, id, hash, data)"
                " VALUES (?, ?, ?, ?)",
                (self._meter(meter_id), topup_id, token_hash, json.dumps(data)),
            )

    def known_topup(self, meter_id: str, topup_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT data FROM outbox_topups WHERE meter_id = ? AND id = ?",
                (self._meter(meter_id), topup_id),
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def known_hash(self, meter_id: str, token_hash: str) -> str | None:
        """The id of a known top-up with this hash, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id FROM outbox_topups WHERE meter_id = ? AND hash = ?",
                (self._meter(meter_id), token_hash),
            ).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
