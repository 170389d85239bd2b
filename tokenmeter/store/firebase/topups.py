"""Top-ups and the chat messages that show them, on Firebase.

``/meters/{meter}/topups/{id}``, ``/meters/{meter}/topup_hashes/{hash}`` (a
token's hash claimed once) and ``/meters/{meter}/topup_messages/{id}/{chat}``.
While writes are queued, top-up decisions are made on the last state the
outbox knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenmeter.domain import TopUp, TopUpStatus
from tokenmeter.store.firebase.connection import FirebaseConnection
from tokenmeter.store.records import topup_from_dict, topup_to_dict


class FirebaseTopUps(FirebaseConnection):
    """Top-ups and the Telegram messages that show their progress."""

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


def _is_int(value: Any) -> bool:
    """Whether ``value`` is an integer or the text of one (a chat id key, a message id)."""
    if isinstance(value, bool | float):
        return False
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True
