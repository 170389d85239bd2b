"""Turning snapshots of stored schedules into ``ScheduleCallback`` calls.

Both adapters feed raw stored values (whatever JSON is there) to a
``ScheduleDiffer``; it calls back once per meter whose value changed, with the
parsed schedule, or None (and a warning) when it was removed or is malformed.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from tokenmeter.domain import Schedule
from tokenmeter.errors import InvalidSchedule
from tokenmeter.store.base import ScheduleCallback
from tokenmeter.store.records import schedule_from_dict

log = logging.getLogger(__name__)

_MISSING = object()


def parse_stored_schedule(meter_id: str, raw: Any) -> Schedule | None:
    """Parse one stored schedule; None (with a warning) when malformed."""
    try:
        return schedule_from_dict(raw)
    except (InvalidSchedule, ValueError, TypeError, KeyError) as err:
        log.warning("meter %s: ignoring malformed stored schedule: %s", meter_id, err)
        return None


class ScheduleDiffer:
    """Remembers the last raw value per meter and reports the ones that changed."""

    def __init__(self, callback: ScheduleCallback) -> None:
        self._callback = callback
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    def replace_all(self, raw_by_meter: Mapping[str, Any]) -> None:
        """A full snapshot: meters missing from it are reported as removed."""
        with self._lock:
            gone = [m for m in self._seen if m not in raw_by_meter]
            for meter_id in gone:
                self._emit(meter_id, None)
            for meter_id, raw in raw_by_meter.items():
                self._emit(meter_id, raw)

    def update_one(self, meter_id: str, raw: Any) -> None:
        """One meter's value (None = removed)."""
        with self._lock:
            self._emit(meter_id, raw)

    def _emit(self, meter_id: str, raw: Any) -> None:
        key = json.dumps(raw, sort_keys=True, default=str)
        previous = self._seen.get(meter_id, _MISSING)
        if raw is None:
            if previous is _MISSING:
                return
            del self._seen[meter_id]
            self._call(meter_id, None)
            return
        if previous == key:
            return
        self._seen[meter_id] = key
        self._call(meter_id, parse_stored_schedule(meter_id, raw))

    def _call(self, meter_id: str, schedule: Schedule | None) -> None:
        try:
            self._callback(meter_id, schedule)
        except Exception:
            log.exception("schedule callback failed for meter %s", meter_id)
