"""The default store: one SQLite file, WAL mode, safe against a killed process.

One connection shared by every thread behind a lock (the store is called from
worker threads through ``asyncio.to_thread``); every write is one
``BEGIN IMMEDIATE`` transaction, so compare-and-set also holds against other
processes using the same file. Schedule watchers poll a change counter kept up
to date by triggers, so changes made by another process are seen too.

``SqliteStore`` is composed of one part per kind of record, each on the shared
``SqliteConnection`` (``connection``): ``meters`` (meters, the meters kept as
data, people, profiles), ``schedules`` (schedules, their watch, slot claims),
``readings`` (readings, device states) and ``topups`` (top-ups and their chat
messages).
"""

from tokenmeter.store.sqlite.connection import BUSY_TIMEOUT_MS, connect
from tokenmeter.store.sqlite.meters import SqliteMeters
from tokenmeter.store.sqlite.readings import SqliteReadings
from tokenmeter.store.sqlite.schedules import WATCH_INTERVAL_S, SqliteSchedules
from tokenmeter.store.sqlite.topups import SqliteTopUps

__all__ = ["BUSY_TIMEOUT_MS", "WATCH_INTERVAL_S", "SqliteStore", "connect"]


class SqliteStore(SqliteMeters, SqliteSchedules, SqliteReadings, SqliteTopUps):
    """``Store`` on one SQLite file (created with its directory when missing)."""
