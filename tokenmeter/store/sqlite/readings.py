"""Readings (the history and ``latest``) and device states in SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tokenmeter.domain import DeviceStatus, Reading
from tokenmeter.store.records import parse_ts, reading_from_dict, ts_text
from tokenmeter.store.sqlite.connection import SqliteConnection

_READING_COLUMNS = "id, ts, kwh, text, confidence, source, status, photo, error"


def _reading_from_row(meter_id: str, row: tuple[Any, ...]) -> Reading:
    keys = ("ts", "kwh", "text", "confidence", "source", "status", "photo", "error")
    return reading_from_dict(meter_id, row[0], dict(zip(keys, row[1:], strict=True)))


class SqliteReadings(SqliteConnection):
    """What the meters report: their readings and the states of their devices."""

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
