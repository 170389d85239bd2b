"""The SQLite file under every part of ``SqliteStore``: one connection, one lock.

``SqliteConnection`` opens (and migrates) the file and gives the record modules
their two ways in: ``_write()``, one ``BEGIN IMMEDIATE`` transaction, and
``_read()``, one query under the lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tokenmeter.store.base import Store, Subscription
from tokenmeter.store.sqlite_schema import migrate

# One logger for the whole adapter, under the package's name.
log = logging.getLogger("tokenmeter.store.sqlite")

BUSY_TIMEOUT_MS = 10_000


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


class SqliteConnection(Store):
    """The file, its connection and lock, and the schedule watches to close with it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = connect(self.path)
        migrate(self._conn)
        self._watchers: list[Subscription] = []
        self._closed = False

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
