"""Top-ups (with their status history) and the chat messages that show them, in SQLite.

Compare-and-set (a token's hash refused twice, ``transition_topup``) holds
against other processes too: each is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from typing import Any

from tokenmeter.domain import TopUp, TopUpStatus
from tokenmeter.store.records import history_from_list, history_to_list, parse_ts, ts_text
from tokenmeter.store.sqlite.connection import SqliteConnection

_TOPUP_COLUMNS = (
    "id, ts, masked, hash, status, source, before, after, error, photo, history, meter_id"
)


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


class SqliteTopUps(SqliteConnection):
    """Top-ups and the Telegram messages that show their progress."""

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
