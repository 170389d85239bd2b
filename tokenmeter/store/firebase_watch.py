"""Watching schedules on Firebase with ``Reference.listen()``.

One listener per meter on ``/meters/{meter}/schedule`` (listening on ``/meters``
would stream every reading). A supervisor thread looks for new meters with a
shallow read every ``rescan_s`` and re-listens when a listener thread died
(the SDK's listener thread ends when the server is unreachable).

Closing: the SDK's ``ListenerRegistration.close()`` closes the response but a
thread blocked in ``recv`` only wakes on the next server frame (real Firebase
sends keep-alives every ~30 s), and that thread is not a daemon, so it would
hold up interpreter exit. ``close_listener`` therefore also shuts the socket
down, which wakes the reader at once, and joins with a bound.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from typing import Any

import requests
from firebase_admin import db, exceptions

from tokenmeter.store.base import ScheduleCallback, Subscription
from tokenmeter.store.schedule_watch import ScheduleDiffer

log = logging.getLogger(__name__)

RESCAN_S = 1.0
CLOSE_JOIN_S = 2.0


def _socket_of(response: Any) -> socket.socket | None:
    raw = getattr(response, "raw", None)
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:  # released connection: reach it through the file object
        file_object = getattr(getattr(raw, "_fp", None), "fp", None)
        sock = getattr(getattr(file_object, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def close_listener(registration: db.ListenerRegistration, timeout: float = CLOSE_JOIN_S) -> None:
    """Stop a listener now, whatever its thread is blocked on."""
    sse = getattr(registration, "_sse", None)
    if sse is not None:
        sse.should_connect = False
        sse.retry = 0
        response = getattr(sse, "resp", None)
        sock = _socket_of(response)
        if sock is not None:
            # Wakes the reader, which then sees should_connect=False and ends. Closing
            # the response here instead would race with the reader thread.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        elif response is not None:
            try:
                response.close()
            except Exception:  # a half-dead stream may fail to close; the thread ends anyway
                log.debug("closing listener response failed", exc_info=True)
    thread = getattr(registration, "_thread", None)
    if isinstance(thread, threading.Thread) and thread is not threading.current_thread():
        thread.join(timeout)
        if thread.is_alive():
            log.warning("a Firebase listener thread did not stop within %.1fs", timeout)


def end_quietly_on_disconnect(registration: db.ListenerRegistration) -> None:
    """Make the SDK's listener thread end, not crash, when it cannot reconnect.

    Without this the thread dies with a ConnectionError traceback on stderr; with
    it the thread simply ends and the supervisor listens again later.
    """
    sse = getattr(registration, "_sse", None)
    reconnect = getattr(sse, "_connect", None)
    if sse is None or reconnect is None:
        return

    def connect_or_stop() -> None:
        try:
            reconnect()
        except requests.RequestException as err:
            log.info("schedule listener lost the database (%s); listening again later", err)
            sse.should_connect = False
            raise StopIteration from err

    sse._connect = connect_or_stop


def _alive(registration: db.ListenerRegistration) -> bool:
    thread = getattr(registration, "_thread", None)
    return not isinstance(thread, threading.Thread) or thread.is_alive()


class FirebaseScheduleWatch(Subscription):
    def __init__(
        self,
        root: db.Reference,
        callback: ScheduleCallback,
        store_stop: threading.Event,
        rescan_s: float = RESCAN_S,
    ) -> None:
        self._root = root
        self._differ = ScheduleDiffer(callback)
        self._store_stop = store_stop
        self._stop = threading.Event()
        self._rescan_s = rescan_s
        self._listeners: dict[str, db.ListenerRegistration] = {}
        self._calling = threading.Lock()
        self._thread = threading.Thread(
            target=self._run, name="firebase-schedule-watch", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def _stopped(self) -> bool:
        return self._stop.is_set() or self._store_stop.is_set()

    def _run(self) -> None:
        try:
            while not self._stopped():
                self._rescan()
                self._stop.wait(self._rescan_s)
        finally:
            for registration in self._listeners.values():
                close_listener(registration)
            self._listeners.clear()

    def _rescan(self) -> None:
        try:
            meters = self._root.child("meters").get(shallow=True)
        except exceptions.FirebaseError as err:
            log.debug("schedule watch: cannot list meters: %s", err)
            return
        meter_ids = set(meters) if isinstance(meters, dict) else set()
        for meter_id in sorted(meter_ids):
            registration = self._listeners.get(meter_id)
            if registration is not None and _alive(registration):
                continue
            if self._stopped():
                return
            try:
                ref = self._root.child(f"meters/{meter_id}/schedule")
                registration = ref.listen(self._handler(meter_id, ref))
                end_quietly_on_disconnect(registration)
                self._listeners[meter_id] = registration
            except exceptions.FirebaseError as err:
                log.info("schedule watch: cannot listen to %s yet: %s", meter_id, err)
                return
        for meter_id in set(self._listeners) - meter_ids:  # the meter was deleted
            close_listener(self._listeners.pop(meter_id))
            self._deliver(meter_id, None)

    def _handler(self, meter_id: str, ref: db.Reference) -> Any:
        def on_event(event: db.Event) -> None:
            if event.event_type == "put" and event.path == "/":
                raw = event.data
            else:  # a change inside the schedule: read it whole
                try:
                    raw = ref.get()
                except exceptions.FirebaseError:
                    log.warning("schedule watch: cannot read %s's schedule", meter_id)
                    return
            self._deliver(meter_id, raw)

        return on_event

    def _deliver(self, meter_id: str, raw: Any) -> None:
        with self._calling:
            if not self._stopped():
                self._differ.update_one(meter_id, raw)

    def close(self) -> None:
        self._stop.set()
        with self._calling:  # no call is running, and none starts after this
            pass
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=CLOSE_JOIN_S * 2)
