"""The plumbing under every part of ``FirebaseStore``.

``FirebaseConnection`` owns the store's own firebase-admin app, retries
transient errors with backoff, notes an outage (reads then fail fast with
``StoreUnavailable``), and applies writes now or queues them in the local
``Outbox``, which a background thread replays in order once Firebase answers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import firebase_admin
from firebase_admin import db, exceptions
from google.auth.exceptions import DefaultCredentialsError

from tokenmeter.errors import CredentialsInvalid, StoreUnavailable
from tokenmeter.store.base import Store
from tokenmeter.store.firebase.sdk import TRANSIENT_ERRORS, certificate, no_status_retries
from tokenmeter.store.firebase_watch import FirebaseScheduleWatch
from tokenmeter.store.outbox import Outbox, OutboxEntry

# One logger for the whole adapter, under the package's name.
log = logging.getLogger("tokenmeter.store.firebase")
T = TypeVar("T")


class Refused(Exception):
    """Aborts a transaction: the compare part of compare-and-set failed."""


def _same(stored: Any, wanted: dict[str, Any]) -> bool:
    """Equal as Firebase stores them (no nulls, no empty lists)."""
    if not isinstance(stored, dict):
        return False
    clean = {k: v for k, v in wanted.items() if v not in (None, [], {})}
    return {k: v for k, v in stored.items() if v is not None} == clean


class FirebaseConnection(Store):
    """The app, retries, the outage state, the outbox and its replaying thread."""

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
            credential = certificate(credentials)
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
        no_status_retries(self._root)
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
                raise Refused
            return topup_id

        try:
            meter.child(f"topup_hashes/{data['hash']}").transaction(claim_hash)
        except Refused:
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
                raise Refused
            return data

        try:
            meter.child(f"topups/{topup_id}").transaction(move)
        except Refused:
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

    # -- lifecycle ----------------------------------------------------------------------
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
