"""Meters, the meters kept as data, people and display profiles in SQLite.

Tables ``meters``, ``meter_registry``, ``people``, ``profiles`` and
``profile_references`` (one row per reference crop, its PNG a BLOB).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from tokenmeter.access import Person
from tokenmeter.domain import Meter
from tokenmeter.profile import MeterProfile, ProfileError, profile_from_dict
from tokenmeter.store.records import person_from_dict, person_to_dict, ts_text
from tokenmeter.store.sqlite.connection import SqliteConnection, log


class SqliteMeters(SqliteConnection):
    """Meter configs, the registry of meters kept as data, people and profiles."""

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
