"""Schedules, watching them, and the scheduler's slot claims on Firebase.

``/meters/{meter}/schedule`` (watched by ``FirebaseScheduleWatch``) and
``/meters/{meter}/slots/{HH:MM}``, claimed in a transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tokenmeter.domain import Schedule
from tokenmeter.store.base import ScheduleCallback, Subscription
from tokenmeter.store.firebase.connection import FirebaseConnection, Refused, log
from tokenmeter.store.firebase.sdk import TRANSIENT_ERRORS
from tokenmeter.store.firebase_watch import FirebaseScheduleWatch
from tokenmeter.store.records import parse_ts, schedule_to_dict, ts_text
from tokenmeter.store.schedule_watch import parse_stored_schedule


class FirebaseSchedules(FirebaseConnection):
    """Check schedules with their watch, and the claims of each slot's runs."""

    # -- schedules ----------------------------------------------------------------------
    def get_schedule(self, meter_id: str) -> Schedule | None:
        raw = self._read("schedule", lambda: self._ref(f"meters/{meter_id}/schedule").get())
        return None if raw is None else parse_stored_schedule(meter_id, raw)

    def set_schedule(self, meter_id: str, schedule: Schedule) -> None:
        ref = self._ref(f"meters/{meter_id}/schedule")
        self._must_write("schedule", lambda: ref.set(schedule_to_dict(schedule)))

    def watch_schedules(self, callback: ScheduleCallback) -> Subscription:
        watch = FirebaseScheduleWatch(self._root, callback, self._stop)
        self._watches.append(watch)
        watch.start()
        return watch

    # -- scheduler slots ---------------------------------------------------------------------------
    def claim_slot(self, meter_id: str, slot: str, occurrence: datetime, owner: str) -> bool:
        run = ts_text(occurrence)

        def claim(current: Any) -> dict[str, str]:
            if isinstance(current, dict) and str(current.get("last_run", "")) >= run:
                raise Refused
            return {"last_run": run, "owner": owner}

        ref = self._ref(f"meters/{meter_id}/slots/{slot}")
        if self._away.is_set():
            log.info("firebase unreachable: running slot %s of %s unclaimed", slot, meter_id)
            return True
        try:
            self._retrying("claim_slot", lambda: ref.transaction(claim))
        except Refused:
            return False
        except TRANSIENT_ERRORS as err:
            self._went_away(err)
        return True

    def last_slot_run(self, meter_id: str, slot: str) -> datetime | None:
        data = self._read("slot", lambda: self._ref(f"meters/{meter_id}/slots/{slot}").get())
        return parse_ts(str(data["last_run"])) if isinstance(data, dict) else None
