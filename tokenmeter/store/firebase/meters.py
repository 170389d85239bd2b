"""Meters, the meters kept as data, people and display profiles on Firebase.

``/meters/{meter}/config``, ``/meter_registry/{meter}``, ``/people/{chat}`` and
``/meters/{meter}/profile``. These are configuration: a write is never queued
offline (``_must_write``), the user tries again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tokenmeter.access import Person
from tokenmeter.domain import Meter
from tokenmeter.profile import MeterProfile, ProfileError, profile_from_dict, profile_to_dict
from tokenmeter.store.firebase.connection import FirebaseConnection, log
from tokenmeter.store.records import (
    meter_from_dict,
    meter_to_dict,
    person_from_dict,
    person_to_dict,
    ts_text,
)


class FirebaseMeters(FirebaseConnection):
    """Meter configs, the registry of meters kept as data, people and profiles."""

    # -- meters -----------------------------------------------------------------------
    def put_meter(self, meter: Meter) -> None:
        ref = self._ref(f"meters/{meter.id}/config")
        self._must_write("meter", lambda: ref.set(meter_to_dict(meter)))

    def get_meter(self, meter_id: str) -> Meter | None:
        data = self._read("meter", lambda: self._ref(f"meters/{meter_id}/config").get())
        return meter_from_dict(meter_id, data) if isinstance(data, dict) else None

    def meter_ids(self) -> list[str]:
        """Every meter key under ``/meters`` (shallow read)."""
        data = self._read("meters", lambda: self._ref("meters").get(shallow=True))
        return sorted(data) if isinstance(data, dict) else []

    def list_meters(self) -> list[Meter]:
        meters = [self.get_meter(meter_id) for meter_id in self.meter_ids()]
        return [meter for meter in meters if meter is not None]

    # -- meters kept as data -----------------------------------------------------------
    def register_meter(self, meter: Meter) -> None:
        added = {"added": ts_text(datetime.now(UTC))}
        changes: dict[str, Any] = {f"meters/{meter.id}/config": meter_to_dict(meter)}
        if self._read("registry", lambda: self._ref(f"meter_registry/{meter.id}").get()) is None:
            changes[f"meter_registry/{meter.id}"] = added
        self._must_write("meter", lambda: self._root.update(changes))

    def unregister_meter(self, meter_id: str) -> bool:
        ref = self._ref(f"meter_registry/{meter_id}")
        if self._read("registry", ref.get) is None:
            return False
        self._must_write("registry", ref.delete)
        return True

    def registered_meters(self) -> list[Meter]:
        data = self._read("registry", lambda: self._ref("meter_registry").get(shallow=True))
        ids = sorted(data) if isinstance(data, dict) else []
        meters = [self.get_meter(meter_id) for meter_id in ids]
        return [meter for meter in meters if meter is not None]

    # -- people -----------------------------------------------------------------------------
    def list_people(self) -> list[Person]:
        data = self._read("people", lambda: self._ref("people").get())
        people = []
        for key, value in data.items() if isinstance(data, dict) else ():
            try:
                if not isinstance(value, dict):
                    raise ValueError(f"not an object: {value!r}")
                people.append(person_from_dict(key, value))
            except ValueError as err:
                log.warning("stored person %s is malformed (%s); skipped", key, err)
        return sorted(people, key=lambda person: person.chat_id)

    def put_person(self, person: Person) -> None:
        ref = self._ref(f"people/{person.chat_id}")
        self._must_write("person", lambda: ref.set(person_to_dict(person)))

    def remove_person(self, chat_id: int) -> bool:
        ref = self._ref(f"people/{chat_id}")
        if self._read("person", ref.get) is None:
            return False
        self._must_write("person", ref.delete)
        return True

    # -- profiles ------------------------------------------------------------------------
    def get_profile(self, meter_id: str) -> MeterProfile | None:
        data = self._read("profile", lambda: self._ref(f"meters/{meter_id}/profile").get())
        if not isinstance(data, dict):
            return None
        try:
            return profile_from_dict(data)
        except ProfileError as err:
            log.warning("meter %s: stored profile ignored: %s", meter_id, err)
            return None

    def put_profile(self, meter_id: str, profile: MeterProfile) -> None:
        ref = self._ref(f"meters/{meter_id}/profile")
        self._must_write("profile", lambda: ref.set(profile_to_dict(profile)))
