"""The store interface. Both adapters (SQLite, Firebase) implement it and pass one
contract test suite (``tests/tokenmeter/store/contract.py``).

Methods are blocking; async callers use ``asyncio.to_thread``. Callbacks given to
``watch_schedules`` run on a store thread: hand work to the loop with
``asyncio.run_coroutine_threadsafe`` / ``loop.call_soon_threadsafe``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from tokenmeter.domain import DeviceStatus, Meter, Reading, Schedule, TopUp, TopUpStatus

if TYPE_CHECKING:  # tokenmeter.profile imports the store's records
    from tokenmeter.access import Person
    from tokenmeter.profile import MeterProfile

ScheduleCallback = Callable[[str, Schedule | None], None]
"""Called with ``(meter_id, schedule)``; ``schedule`` is None when it was removed
or is malformed in the store (the subscriber keeps the last good one)."""


class Subscription(abc.ABC):
    """A live watch; ``close()`` stops it cleanly and returns within a second or two."""

    @abc.abstractmethod
    def close(self) -> None: ...


class Store(abc.ABC):
    # -- meters ---------------------------------------------------------------
    @abc.abstractmethod
    def put_meter(self, meter: Meter) -> None:
        """Create or replace ``/meters/{id}/config``."""

    @abc.abstractmethod
    def get_meter(self, meter_id: str) -> Meter | None: ...

    @abc.abstractmethod
    def list_meters(self) -> list[Meter]: ...

    # -- meters kept as data (``tokenmeter meter add|import``) ---------------------------
    @abc.abstractmethod
    def register_meter(self, meter: Meter) -> None:
        """Write the meter's config and mark it as kept in the store
        (``/meter_registry/{id}``), so it is a meter without a ``[[meters]]`` block."""

    @abc.abstractmethod
    def unregister_meter(self, meter_id: str) -> bool:
        """Remove the mark only; the config, schedule and history stay. False when the
        meter was not marked."""

    @abc.abstractmethod
    def registered_meters(self) -> list[Meter]:
        """The marked meters with their stored configs, by id (a mark without a config
        is skipped)."""

    # -- people (``/akses``) ------------------------------------------------------
    @abc.abstractmethod
    def list_people(self) -> list[Person]:
        """The stored people (``/people/{chat_id}``) by chat id; a malformed entry is
        skipped (logged)."""

    @abc.abstractmethod
    def put_person(self, person: Person) -> None:
        """Create or replace a chat's stored role and meters."""

    @abc.abstractmethod
    def remove_person(self, chat_id: int) -> bool:
        """Remove a chat's stored entry; False when there was none."""

    # -- profiles -------------------------------------------------------------
    @abc.abstractmethod
    def get_profile(self, meter_id: str) -> MeterProfile | None:
        """The meter's display profile (``/meters/{id}/profile``); None when there is
        none or it is malformed (logged)."""

    @abc.abstractmethod
    def put_profile(self, meter_id: str, profile: MeterProfile) -> None:
        """Replace the meter's profile, references included, in one write."""

    # -- schedules ------------------------------------------------------------
    @abc.abstractmethod
    def get_schedule(self, meter_id: str) -> Schedule | None: ...

    @abc.abstractmethod
    def set_schedule(self, meter_id: str, schedule: Schedule) -> None: ...

    @abc.abstractmethod
    def watch_schedules(self, callback: ScheduleCallback) -> Subscription:
        """Call ``callback`` for every schedule now and within 2 s of any change."""

    # -- readings -------------------------------------------------------------
    @abc.abstractmethod
    def add_reading(self, reading: Reading) -> None:
        """Append to the history and make it ``latest``."""

    @abc.abstractmethod
    def latest_reading(self, meter_id: str) -> Reading | None: ...

    @abc.abstractmethod
    def last_readings(self, meter_id: str, n: int) -> list[Reading]:
        """The last ``n`` readings, oldest first."""

    @abc.abstractmethod
    def readings_between(self, meter_id: str, start: datetime, end: datetime) -> list[Reading]:
        """Readings with ``start <= ts <= end``, oldest first."""

    # -- top-ups --------------------------------------------------------------
    @abc.abstractmethod
    def create_topup(self, topup: TopUp) -> bool:
        """Store a new top-up; False (and nothing written) if its hash is already known."""

    @abc.abstractmethod
    def get_topup(self, meter_id: str, topup_id: str) -> TopUp | None: ...

    @abc.abstractmethod
    def find_topup_by_hash(self, meter_id: str, token_hash: str) -> TopUp | None: ...

    @abc.abstractmethod
    def transition_topup(
        self,
        meter_id: str,
        topup_id: str,
        expected: frozenset[TopUpStatus],
        updated: TopUp,
    ) -> bool:
        """Compare-and-set: write ``updated`` only if the stored status is in ``expected``.

        Returns False (nothing written) when another writer moved it first.
        """

    @abc.abstractmethod
    def list_topups(
        self,
        meter_id: str,
        statuses: frozenset[TopUpStatus] | None = None,
        last: int | None = None,
    ) -> list[TopUp]:
        """Top-ups oldest first, optionally only those in ``statuses`` / the last ``last``."""

    # -- the chat messages that show a top-up ------------------------------------
    @abc.abstractmethod
    def set_topup_messages(self, meter_id: str, topup_id: str, messages: Mapping[int, int]) -> None:
        """Replace the chat messages that show the top-up's progress (chat id → message
        id, one per chat), so that a restarted service edits them; empty removes them
        (``/meters/{id}/topup_messages/{tid}``)."""

    @abc.abstractmethod
    def topup_messages(self, meter_id: str) -> dict[str, dict[int, int]]:
        """Every top-up of the meter with messages kept: top-up id → {chat: message}."""

    # -- devices --------------------------------------------------------------
    @abc.abstractmethod
    def set_device_status(self, meter_id: str, status: DeviceStatus) -> None: ...

    @abc.abstractmethod
    def get_device_statuses(self, meter_id: str) -> list[DeviceStatus]: ...

    # -- scheduler slots --------------------------------------------------------
    @abc.abstractmethod
    def claim_slot(self, meter_id: str, slot: str, occurrence: datetime, owner: str) -> bool:
        """Compare-and-set claim of one run of a schedule slot.

        ``slot`` is the local ``HH:MM``; ``occurrence`` the UTC time of this run.
        True only for the first caller whose ``occurrence`` is later than the stored
        last run of that slot; the claim is the stored "last run".
        """

    @abc.abstractmethod
    def last_slot_run(self, meter_id: str, slot: str) -> datetime | None: ...

    # -- lifecycle ------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Flush what is queued if possible, stop listeners, release files."""
