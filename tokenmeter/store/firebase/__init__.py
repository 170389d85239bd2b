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

``FirebaseStore`` is composed of one part per kind of record, each on the shared
``FirebaseConnection`` (``connection``; the firebase-admin setup is in ``sdk``):
``meters`` (meters, the meters kept as data, people, profiles), ``schedules``
(schedules, their watch, slot claims), ``readings`` (readings, device states) and
``topups`` (top-ups and their chat messages).
"""

from tokenmeter.store.firebase.meters import FirebaseMeters
from tokenmeter.store.firebase.readings import FirebaseReadings
from tokenmeter.store.firebase.schedules import FirebaseSchedules
from tokenmeter.store.firebase.sdk import TRANSIENT_ERRORS
from tokenmeter.store.firebase.topups import FirebaseTopUps

__all__ = ["TRANSIENT_ERRORS", "FirebaseStore"]


class FirebaseStore(FirebaseMeters, FirebaseSchedules, FirebaseReadings, FirebaseTopUps):
    """``Store`` on a Firebase Realtime Database URL (or a local emulator URL)."""
