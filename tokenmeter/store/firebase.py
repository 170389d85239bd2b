"""The store on Firebase Realtime Database (firebase-admin ``db``).

Layout (DESIGN.md), under ``/meters/{meter}``: ``config``, ``schedule``, ``latest``,
``readings/{id}``, ``topups/{id}``, ``devices/{name}``, plus ``slots/{HH:MM}``
(scheduler claims), ``topup_hashes/{hash}`` → top-up id (refusing a repeat) and
``topup_messages/{id}/{chat}`` → message id (the Telegram messages that show a
top-up's progress, edited again after a restart).
Times are fixed-width UTC ISO strings, so ``orderByChild("ts")`` is time order.

Compare-and-set (top-up creation and transitions, slot claims) uses
``Reference.transaction`` (ETag + if-match). Transient errors are retried with
backoff; while the database is unreachable, writes (readings, device statuses,
top-up changes) go to a local SQLite outbox and a background thread replays
them in order when it returns.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import firebase_admin
from firebase_admin import credentials as fb_credentials
from firebase_admin import db, exceptions
from google.auth.exceptions import DefaultCredentialsError
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tokenmeter.access import Person
from tokenmeter.config_setup import credentials_problem
from tokenmeter.domain import DeviceStatus, Meter, Reading, Schedule, TopUp, TopUpStatus
from tokenmeter.errors import CredentialsInvalid, StoreUnavailable
from tokenmeter.profile import MeterProfile, ProfileError, profile_from_dict, profile_to_dict
from tokenmeter.store.base import ScheduleCallback, Store, Subscription
from tokenmeter.store.firebase_watch import FirebaseScheduleWatch
from tokenmeter.store.outbox import Outbox, OutboxEntry
from tokenmeter.store.records import (
    device_from_dict,
    device_to_dict,
    meter_from_dict,
    meter_to_dict,
    parse_ts,
    person_from_dict,
    person_to_dict,
    reading_from_dict,
    reading_to_dict,
    schedule_to_dict,
    topup_from_dict,
    topup_to_dict,
    ts_text,
)
from tokenmeter.store.schedule_watch import parse_stored_schedule

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    exceptions.UnavailableError,
    exceptions.DeadlineExceededError,
    exceptions.InternalError,
    exceptions.UnknownError,
)


class _Refused(Exception):
    """Aborts a transaction: the compare part of compare-and-set failed."""


def _same(stored: Any, wanted: dict[str, Any]) -> bool:
    """Equal as Firebase stores them (no nulls, no empty lists)."""
    if not isinstance(stored, dict):
        return False
    clean = {k: v for k, v in wanted.items() if v not in (None, [], {})}
    return {k: v for k, v in stored.items() if v is not None} == clean


def _certificate(path: str) -> fb_credentials.Certificate:
    """The service-account credential in ``path``; ``CredentialsInvalid`` says what is wrong."""
    problem = credentials_problem(path)
    if problem is None:
        try:
            return fb_credentials.Certificate(path)
        except (OSError, ValueError) as err:  # e.g. a private key that does not parse
            problem = "not_service_account", str(err)
    reason, detail = problem
    raise CredentialsInvalid(detail, reason=reason, path=path)


class FirebaseStore(Store):
    """``Store`` on a Firebase Realtime Database URL (or a local emulator URL)."""

    def __init__(
        self,
        url: str,
        *,
        credentials: str = "",
        outbox_path: Path,
        retry_attempts: int = 3,
        retry_backoff_s: float = 0.25,
        flush_interval_s: float = 1.0,
        http_timeout_s: float = 10.0,
    ) -> None:
        if not url:
            raise ValueError("firebase_url is empty")
        self.url = url
        self._attempts = max(retry_attempts, 1)
        self._backoff_s = retry_backoff_s
        credential: Any = None  # emulator: the SDK uses its own emulator credential
        emulator = urlsplit(url).scheme == "http" or bool(
            os.environ.get("FIREBASE_DATABASE_EMULATOR_HOST")
        )
        if credentials and not emulator:
            credential = _certificate(credentials)
        self._app = firebase_admin.initialize_app(
            credential,
            {"databaseURL": url, "httpTimeout": http_timeout_s},
            name=f"tokenmeter-{id(self):x}-{time.monotonic_ns()}",
        )
        try:
            self._root = db.reference("/", app=self._app)
        except DefaultCredentialsError as err:
            firebase_admin.delete_app(self._app)
            raise CredentialsInvalid(str(err).split(". ")[0], reason="none") from err
        _no_status_retries(self._root)
        self._away = threading.Event()  # set while Firebase is known unreachable
        self._outbox = Outbox(outbox_path, namespace=url)
        self._queued = self._outbox.count()
        self._write_lock = threading.RLock()
        self._watches: list[FirebaseScheduleWatch] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flush_interval_s = flush_interval_s
        self._flusher = threading.Thread(
            target=self._flush_loop, name="firebase-outbox", daemon=True
        )
        self._flusher.start()
        self._closed = False

    # -- plumbing ----------------------------------------------------------------------
    def _ref(self, path: str) -> db.Reference:
        return self._root.child(path)

    def _retrying(self, what: str, action: Callable[[], T]) -> T:
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                return action()
            except TRANSIENT_ERRORS as err:
                if attempt == self._attempts:
                    raise
                log.info("firebase %s failed (%s); retry %d in %.2fs", what, err, attempt, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _went_away(self, err: Exception) -> None:
        """Note an outage (one WARNING per outage); reads fail fast until it ends."""
        if not self._away.is_set():
            self._away.set()
            self._wake.set()
            log.warning(
                "firebase unreachable (%s); readings queue locally, top-ups are refused"
                " until it answers again",
                err,
            )

    def _came_back(self) -> None:
        if self._away.is_set():
            self._away.clear()
            log.warning("firebase answers again")

    def _read(self, what: str, action: Callable[[], T]) -> T:
        if self._away.is_set():
            raise StoreUnavailable(f"firebase unreachable while reading {what}")
        try:
            return self._retrying(what, action)
        except TRANSIENT_ERRORS as err:
            self._went_away(err)
            raise StoreUnavailable(f"firebase unreachable while reading {what}") from err

    def _must_write(self, what: str, action: Callable[[], None]) -> None:
        """A write that is not queued offline (configuration: the user retries)."""
        try:
            self._retrying(what, action)
        except TRANSIENT_ERRORS as err:
            raise StoreUnavailable(f"firebase unreachable while writing {what}") from err

    @property
    def queued_writes(self) -> int:
        """Writes waiting in the local outbox."""
        return self._queued

    def _write(self, kind: str, meter_id: str, key: str, payload: dict[str, Any]) -> bool:
        """Apply a write now, or queue it behind earlier queued ones; False = refused."""
        with self._write_lock:
            if self._queued == 0 and not self._away.is_set():
                try:
                    return self._retrying(kind, lambda: self._apply(kind, meter_id, key, payload))
                except TRANSIENT_ERRORS as err:
                    self._went_away(err)
            self._outbox.append(kind, meter_id, key, payload)
            self._queued += 1
            self._wake.set()
            return True

    def _apply(self, kind: str, meter_id: str, key: str, payload: dict[str, Any]) -> bool:
        meter = self._ref(f"meters/{meter_id}")
        if kind == "reading":
            meter.update({f"readings/{key}": payload, "latest": {**payload, "id": key}})
        elif kind == "device":
            meter.child(f"devices/{key}").set(payload)
        elif kind == "topup_create":
            return self._apply_create(meter, key, payload)
        elif kind == "topup_transition":
            return self._apply_transition(meter, key, payload["expected"], payload["data"])
        elif kind == "topup_messages":
            if payload["messages"]:
                meter.child(f"topup_messages/{key}").set(payload["messages"])
            else:
                meter.child(f"topup_messages/{key}").delete()
        else:
            raise ValueError(f"unknown outbox entry kind {kind!r}")
        return True

    def _apply_create(self, meter: db.Reference, topup_id: str, data: dict[str, Any]) -> bool:
        def claim_hash(current: Any) -> str:
            if current is not None and current != topup_id:
                raise _Refused
            return topup_id

        try:
            meter.child(f"topup_hashes/{data['hash']}").transaction(claim_hash)
        except _Refused:
            return False
        meter.child(f"topups/{topup_id}").set(data)
        return True

    def _apply_transition(
        self, meter: db.Reference, topup_id: str, expected: list[str], data: dict[str, Any]
    ) -> bool:
        def move(current: Any) -> Any:
            if _same(current, data):
                return current  # already applied (a replay)
            if not isinstance(current, dict) or current.get("status") not in expected:
                raise _Refused
            return data

        try:
            meter.child(f"topups/{topup_id}").transaction(move)
        except _Refused:
            return False
        return True

    # -- the outbox --------------------------------------------------------------------
    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                continue
            if self._queued:
                self.flush()
            elif self._away.is_set():
                self._probe()

    def _probe(self) -> None:
        """One cheap read: does Firebase answer again?"""
        try:
            self._ref("meters").get(shallow=True)
        except TRANSIENT_ERRORS:
            return
        except exceptions.FirebaseError:
            pass  # it answers, if only to refuse
        self._came_back()

    def flush(self) -> bool:
        """Replay queued writes in order; True when none is left."""
        with self._write_lock:
            while self._queued:
                entries = self._outbox.pending(100)
                if not entries:
                    self._queued = 0
                    break
                for entry in entries:
                    if not self._replay(entry):
                        return False
            self._came_back()
            return True

    def _replay(self, entry: OutboxEntry) -> bool:
        try:
            applied = self._apply(entry.kind, entry.meter_id, entry.key, entry.payload)
        except TRANSIENT_ERRORS:
            return False
        except exceptions.FirebaseError as err:
            log.error("dropping queued %s %s: firebase refused it: %s", entry.kind, entry.key, err)
            applied = True
        if not applied:
            log.warning(
                "queued %s of top-up %s was refused on replay (changed meanwhile)",
                entry.kind,
                entry.key,
            )
        self._outbox.remove(entry.seq)
        self._queued = max(self._queued - 1, 0)
        return True

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

    # -- top-ups -----------------------------------------------------------------------------
    def create_topup(self, topup: TopUp) -> bool:
        data = topup_to_dict(topup)
        with self._write_lock:
            known = self._outbox.known_hash(topup.meter_id, topup.hash)
            if known is not None and known != topup.id:
                return False
            if not self._write("topup_create", topup.meter_id, topup.id, data):
                return False
            self._outbox.remember_topup(topup.meter_id, topup.id, topup.hash, data)
            return True

    def get_topup(self, meter_id: str, topup_id: str) -> TopUp | None:
        if self._queued:
            known = self._outbox.known_topup(meter_id, topup_id)
            if known is not None:
                return topup_from_dict(meter_id, topup_id, known)
        data = self._read("topup", lambda: self._ref(f"meters/{meter_id}/topups/{topup_id}").get())
        return topup_from_dict(meter_id, topup_id, data) if isinstance(data, dict) else None

    def find_topup_by_hash(self, meter_id: str, token_hash: str) -> TopUp | None:
        topup_id = self._outbox.known_hash(meter_id, token_hash) if self._queued else None
        if topup_id is None:
            topup_id = self._read(
                "topup hash",
                lambda: self._ref(f"meters/{meter_id}/topup_hashes/{token_hash}").get(),
            )
        return self.get_topup(meter_id, str(topup_id)) if topup_id else None

    def transition_topup(
        self,
        meter_id: str,
        topup_id: str,
        expected: frozenset[TopUpStatus],
        updated: TopUp,
    ) -> bool:
        data = topup_to_dict(updated)
        payload = {"expected": sorted(s.value for s in expected), "data": data}
        with self._write_lock:
            if self._queued:  # offline: decide on the last state known here
                known = self._outbox.known_topup(meter_id, topup_id)
                if known is None or known.get("status") not in payload["expected"]:
                    return False
            if not self._write("topup_transition", meter_id, topup_id, payload):
                return False
            self._outbox.remember_topup(meter_id, topup_id, updated.hash, data)
            return True

    def list_topups(
        self,
        meter_id: str,
        statuses: frozenset[TopUpStatus] | None = None,
        last: int | None = None,
    ) -> list[TopUp]:
        query = self._ref(f"meters/{meter_id}/topups").order_by_child("ts")
        if statuses is None and last is not None:
            if last <= 0:
                return []
            query = query.limit_to_last(last)
        found = self._read("topups", query.get)
        topups = [topup_from_dict(meter_id, k, v) for k, v in (found or {}).items()]
        if statuses is not None:
            topups = [t for t in topups if t.status in statuses]
        if last is not None:
            topups = topups[-last:] if last > 0 else []
        return topups

    # -- the chat messages that show a top-up --------------------------------------------------
    def set_topup_messages(self, meter_id: str, topup_id: str, messages: Mapping[int, int]) -> None:
        payload = {"messages": {str(chat): int(message) for chat, message in messages.items()}}
        self._write("topup_messages", meter_id, topup_id, payload)

    def topup_messages(self, meter_id: str) -> dict[str, dict[int, int]]:
        ref = self._ref(f"meters/{meter_id}/topup_messages")
        data = self._read("topup messages", ref.get)
        found: dict[str, dict[int, int]] = {}
        for topup_id, messages in data.items() if isinstance(data, dict) else ():
            if not isinstance(messages, dict):
                continue
            kept = {int(c): int(m) for c, m in messages.items() if _is_int(c) and _is_int(m)}
            if kept:
                found[str(topup_id)] = kept
        return found

    # -- devices -------------------------------------------------------------------------------
    def set_device_status(self, meter_id: str, status: DeviceStatus) -> None:
        self._write("device", meter_id, status.name, device_to_dict(status))

    def get_device_statuses(self, meter_id: str) -> list[DeviceStatus]:
        data = self._read("devices", lambda: self._ref(f"meters/{meter_id}/devices").get())
        if not isinstance(data, dict):
            return []
        return [device_from_dict(name, data[name]) for name in sorted(data)]

    # -- scheduler slots ---------------------------------------------------------------------------
    def claim_slot(self, meter_id: str, slot: str, occurrence: datetime, owner: str) -> bool:
        run = ts_text(occurrence)

        def claim(current: Any) -> dict[str, str]:
            if isinstance(current, dict) and str(current.get("last_run", "")) >= run:
                raise _Refused
            return {"last_run": run, "owner": owner}

        ref = self._ref(f"meters/{meter_id}/slots/{slot}")
        if self._away.is_set():
            log.info("firebase unreachable: running slot %s of %s unclaimed", slot, meter_id)
            return True
        try:
            self._retrying("claim_slot", lambda: ref.transaction(claim))
        except _Refused:
            return False
        except TRANSIENT_ERRORS as err:
            self._went_away(err)
        return True

    def last_slot_run(self, meter_id: str, slot: str) -> datetime | None:
        data = self._read("slot", lambda: self._ref(f"meters/{meter_id}/slots/{slot}").get())
        return parse_ts(str(data["last_run"])) if isinstance(data, dict) else None

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._wake.set()
        self._flusher.join(timeout=10)
        for watch in self._watches:
            watch.close()
        if self._queued and not self.flush():
            log.warning("%d writes stay queued locally until the next start", self._queued)
        firebase_admin.delete_app(self._app)
        self._outbox.close()


def _is_int(value: Any) -> bool:
    """Whether ``value`` is an integer or the text of one (a chat id key, a message id)."""
    if isinstance(value, bool | float):
        return False
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def _no_status_retries(root: db.Reference) -> None:
    """Let the SDK retry a broken connection once but not 500/503 answers: it would
    sleep up to 7.5 s per request; ``FirebaseStore._retrying`` retries instead."""
    retry = Retry(connect=1, read=1, status=0, raise_on_status=False, allowed_methods=None)
    session = root._client.session  # private: the SDK offers no retry option
    for scheme in ("http://", "https://"):
        session.mount(scheme, HTTPAdapter(max_retries=retry))
