"""Readings (the history and ``latest``) and device states on Firebase.

``/meters/{meter}/readings/{id}``, ``/meters/{meter}/latest`` and
``/meters/{meter}/devices/{name}``; writes queue in the outbox while Firebase is
away.
"""

from __future__ import annotations

from datetime import datetime

from tokenmeter.domain import DeviceStatus, Reading
from tokenmeter.store.firebase.connection import FirebaseConnection
from tokenmeter.store.records import (
    device_from_dict,
    device_to_dict,
    reading_from_dict,
    reading_to_dict,
    ts_text,
)


class FirebaseReadings(FirebaseConnection):
    """What the meters report: their readings and the states of their devices."""

    # -- readings --------------------------------------------------------------------------
    def add_reading(self, reading: Reading) -> None:
        self._write("reading", reading.meter_id, reading.id, reading_to_dict(reading))

    def latest_reading(self, meter_id: str) -> Reading | None:
        data = self._read("latest", lambda: self._ref(f"meters/{meter_id}/latest").get())
        if not isinstance(data, dict):
            return None
        return reading_from_dict(meter_id, str(data.get("id", "")), data)

    def last_readings(self, meter_id: str, n: int) -> list[Reading]:
        if n <= 0:
            return []
        readings = self._ref(f"meters/{meter_id}/readings")
        found = self._read("readings", lambda: readings.order_by_child("ts").limit_to_last(n).get())
        return [reading_from_dict(meter_id, k, v) for k, v in (found or {}).items()]

    def readings_between(self, meter_id: str, start: datetime, end: datetime) -> list[Reading]:
        readings = self._ref(f"meters/{meter_id}/readings")
        query = readings.order_by_child("ts").start_at(ts_text(start)).end_at(ts_text(end))
        found = self._read("readings", query.get)
        return [reading_from_dict(meter_id, k, v) for k, v in (found or {}).items()]

    # -- devices -------------------------------------------------------------------------------
    def set_device_status(self, meter_id: str, status: DeviceStatus) -> None:
        self._write("device", meter_id, status.name, device_to_dict(status))

    def get_device_statuses(self, meter_id: str) -> list[DeviceStatus]:
        data = self._read("devices", lambda: self._ref(f"meters/{meter_id}/devices").get())
        if not isinstance(data, dict):
            return []
        return [device_from_dict(name, data[name]) for name in sorted(data)]
