"""SQLite schema: numbered migrations recorded in ``schema_version``.

A migration is a list of statements run in one ``BEGIN IMMEDIATE`` transaction
together with the version bump, so a crash leaves the old or the new schema,
never half of one. Append new migrations; never edit an applied one.
"""

from __future__ import annotations

import sqlite3

_SCHEDULE_BUMP = "UPDATE change_counters SET value = value + 1 WHERE name = 'schedules';"

MIGRATIONS: list[tuple[str, ...]] = [
    # 1: the layout of DESIGN.md, one table per entity
    (
        """CREATE TABLE meters (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, timezone TEXT NOT NULL,
            low_kwh REAL NOT NULL, camera_url TEXT NOT NULL)""",
        "CREATE TABLE schedules (meter_id TEXT PRIMARY KEY, data TEXT NOT NULL)",
        """CREATE TABLE readings (
            meter_id TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, kwh REAL,
            text TEXT NOT NULL, confidence REAL NOT NULL, source TEXT NOT NULL,
            status TEXT NOT NULL, photo TEXT NOT NULL, error TEXT NOT NULL,
            PRIMARY KEY (meter_id, id))""",
        "CREATE INDEX readings_by_meter_ts ON readings (meter_id, ts, id)",
        "CREATE TABLE latest (meter_id TEXT PRIMARY KEY, reading_id TEXT NOT NULL)",
        """CREATE TABLE topups (
            meter_id TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL,
            masked TEXT NOT NULL, hash TEXT NOT NULL, status TEXT NOT NULL,
            source TEXT NOT NULL, before REAL, after REAL, error TEXT NOT NULL,
            photo TEXT NOT NULL, history TEXT NOT NULL,
            PRIMARY KEY (meter_id, id))""",
        "CREATE UNIQUE INDEX topups_by_hash ON topups (meter_id, hash)",
        "CREATE INDEX topups_by_meter_ts ON topups (meter_id, ts, id)",
        """CREATE TABLE devices (
            meter_id TEXT NOT NULL, name TEXT NOT NULL, online INTEGER NOT NULL,
            ts TEXT NOT NULL, version TEXT NOT NULL, PRIMARY KEY (meter_id, name))""",
        """CREATE TABLE slots (
            meter_id TEXT NOT NULL, slot TEXT NOT NULL, last_run TEXT NOT NULL,
            owner TEXT NOT NULL, PRIMARY KEY (meter_id, slot))""",
        "CREATE TABLE change_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO change_counters (name, value) VALUES ('schedules', 0)",
        f"CREATE TRIGGER schedules_inserted AFTER INSERT ON schedules BEGIN {_SCHEDULE_BUMP} END",
        f"CREATE TRIGGER schedules_updated AFTER UPDATE ON schedules BEGIN {_SCHEDULE_BUMP} END",
        f"CREATE TRIGGER schedules_deleted AFTER DELETE ON schedules BEGIN {_SCHEDULE_BUMP} END",
    ),
    # 2: meter profiles (display quad, digits, decimals, flash) and their reference crops
    (
        """CREATE TABLE profiles (
            meter_id TEXT PRIMARY KEY, quad TEXT, digits INTEGER, decimals INTEGER,
            flash INTEGER NOT NULL, updated TEXT)""",
        """CREATE TABLE profile_references (
            meter_id TEXT NOT NULL, id TEXT NOT NULL, ts TEXT NOT NULL, text TEXT NOT NULL,
            source TEXT NOT NULL, png BLOB NOT NULL, PRIMARY KEY (meter_id, id))""",
    ),
    # 3: meters kept as data (tokenmeter meter add|import): which meters the store owns
    ("CREATE TABLE meter_registry (meter_id TEXT PRIMARY KEY, added TEXT NOT NULL)",),
    # 4: people given a role and meters from Telegram (/akses); the file's are not stored
    (
        """CREATE TABLE people (
            chat_id INTEGER PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL,
            meters TEXT NOT NULL, updated TEXT NOT NULL)""",
    ),
    # 5: the chat messages that show a top-up's progress (edited again after a restart)
    (
        """CREATE TABLE topup_messages (
            meter_id TEXT NOT NULL, topup_id TEXT NOT NULL, chat_id INTEGER NOT NULL,
            message_id INTEGER NOT NULL, PRIMARY KEY (meter_id, topup_id, chat_id))""",
    ),
]

SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date (safe when several processes open it at once)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema {version} is newer than this tokenmeter ({SCHEMA_VERSION})"
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[number - 1]:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION
