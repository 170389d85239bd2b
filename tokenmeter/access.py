"""People and permissions: who may see and act on which meter.

A person is a Telegram chat with a role. An ``owner`` sees and does everything; a
``tenant`` sees and tops up only the meters listed for it, and gets only their alerts.

Two sources, merged into one ``Access``:
- the config file: ``telegram.allowed_chats`` (owners, the older flat list) and
  ``[[people]]`` entries;
- the store (``/people/{chat_id}``), written by an owner with ``/akses``.

The file is the base and is never narrowed from the store: a chat's role is the
highest either source gives, a tenant's meters are the union of both. ``/akses``
removes only what the store added; what the file says is changed in the file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenmeter.domain import Meter
from tokenmeter.errors import TokenmeterError

if TYPE_CHECKING:  # the store imports Person
    from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

Role = Literal["owner", "tenant"]
OWNER: Role = "owner"
TENANT: Role = "tenant"
REFRESH_S = 30.0  # how old the stored people may get before they are read again


class PersonConfig(BaseModel):
    """One ``[[people]]`` entry of the config file."""

    model_config = ConfigDict(extra="forbid")

    chat_id: int = Field(..., description="Telegram chat id (a group's is negative).")
    role: Role = Field("tenant", description="'owner': every meter; 'tenant': its meters only.")
    meters: list[str] = Field(
        default_factory=list, description="A tenant's meter ids (an owner lists none)."
    )
    name: str = Field("", description="Who this is, shown in /akses.")

    @model_validator(mode="after")
    def _meters_fit_the_role(self) -> PersonConfig:
        if self.role == TENANT and not self.meters:
            raise ValueError("a tenant needs at least one meter id in meters")
        if self.role == OWNER and self.meters:
            raise ValueError("an owner sees every meter; leave meters out")
        return self


@dataclass(frozen=True)
class Person:
    """A chat's role and meters, from one source (``file`` or ``store``)."""

    chat_id: int
    role: Role
    meters: frozenset[str] = frozenset()
    name: str = ""
    source: Literal["file", "store"] = "file"

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER


class AccessRefused(TokenmeterError):
    """An ``/akses`` change that cannot be made; ``reason`` says why."""

    code = "access_refused"

    def __init__(self, reason: str, **details: object) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


def file_people(allowed_chats: Iterable[int], people: Iterable[PersonConfig]) -> list[Person]:
    """The people the config file names: every allowed chat an owner, then ``[[people]]``."""
    found = [Person(chat_id, OWNER) for chat_id in allowed_chats]
    return found + [Person(p.chat_id, p.role, frozenset(p.meters), p.name) for p in people]


def people_problems(
    allowed_chats: Sequence[int], people: Sequence[PersonConfig]
) -> list[tuple[str, str]]:
    """``(key path, message)`` for ``[[people]]`` entries that cannot be meant: a chat
    listed twice, a tenant that is also in ``telegram.allowed_chats`` (an owner)."""
    problems: list[tuple[str, str]] = []
    seen: set[int] = set()
    for index, person in enumerate(people):
        path = f"people.{index}"
        if person.chat_id in seen:
            problems.append((f"{path}.chat_id", f"chat {person.chat_id} appears twice"))
        seen.add(person.chat_id)
        if person.role == TENANT and person.chat_id in allowed_chats:
            problems.append(
                (
                    f"{path}.role",
                    f"chat {person.chat_id} is in telegram.allowed_chats, which makes it an "
                    "owner; remove it there to make it a tenant",
                )
            )
    return problems


def people_meter_problems(
    people: Sequence[PersonConfig], meter_ids: Iterable[str]
) -> list[tuple[str, str]]:
    """``(key path, message)`` for each meter of ``[[people]]`` that is not a meter
    (``meter_ids``: the file's and the store's; so checked with the store at hand)."""
    known = set(meter_ids)
    return [
        (
            f"people.{index}.meters",
            f"{meter_id!r} is not a meter (known: {', '.join(sorted(known))})",
        )
        for index, person in enumerate(people)
        for meter_id in person.meters
        if meter_id not in known
    ]


@dataclass(frozen=True)
class Access:
    """Who may do what, merged from the file and the store; never changes once built."""

    people: dict[int, Person] = field(default_factory=dict)

    @staticmethod
    def merge(base: Iterable[Person], stored: Iterable[Person]) -> Access:
        """File entries first; a stored entry raises a role or adds meters, never removes."""
        merged: dict[int, Person] = {}
        for person in [*base, *stored]:
            known = merged.get(person.chat_id)
            if known is None:
                merged[person.chat_id] = person
            elif known.is_owner or person.is_owner:
                owner = known if known.is_owner else person
                merged[person.chat_id] = replace(owner, meters=frozenset())
            else:
                merged[person.chat_id] = replace(
                    known, meters=known.meters | person.meters, name=known.name or person.name
                )
        return Access(merged)

    def person(self, chat_id: int) -> Person | None:
        return self.people.get(chat_id)

    def allowed(self, chat_id: int) -> bool:
        return chat_id in self.people

    def is_owner(self, chat_id: int) -> bool:
        person = self.people.get(chat_id)
        return person is not None and person.is_owner

    def can_use(self, chat_id: int, meter_id: str) -> bool:
        """Whether the chat may see and top up this meter."""
        person = self.people.get(chat_id)
        return person is not None and (person.is_owner or meter_id in person.meters)

    def visible(self, chat_id: int, meters: Sequence[Meter]) -> list[Meter]:
        """The meters of ``meters`` this chat may see, in their order."""
        return [m for m in meters if self.can_use(chat_id, m.id)]

    def chats_for(self, meter_id: str) -> list[int]:
        """The chats told about this meter: its tenants and every owner, sorted."""
        return sorted(c for c in self.people if self.can_use(c, meter_id))

    def owners(self) -> list[int]:
        return sorted(c for c, p in self.people.items() if p.is_owner)

    def chats(self) -> list[int]:
        return sorted(self.people)


class AccessBook:
    """The current ``Access``: the file's people and the store's, read again when older
    than ``refresh_s``; ``grant`` / ``revoke`` change the store (what ``/akses`` does).

    Blocking (store calls); async callers use ``asyncio.to_thread``. A store that is
    away leaves the last known access in place."""

    def __init__(
        self,
        base: Sequence[Person],
        store: Store | None,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = list(base)
        self._store = store
        self._refresh_s = refresh_s
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded_at: float | None = None
        self._access = Access.merge(self.base, [])

    @property
    def current(self) -> Access:
        """The access last read (no I/O)."""
        return self._access

    @property
    def stale(self) -> bool:
        return self._store is not None and (
            self._loaded_at is None or self._clock() - self._loaded_at >= self._refresh_s
        )

    def load(self) -> Access:
        """Read the stored people again and merge them with the file's. A store that is
        away is tried again only after ``refresh_s``, not on every update."""
        if self._store is None:
            return self._access
        try:
            stored = self._store.list_people()
        except Exception as err:  # the store is away: nobody gains or loses access by it
            log.warning("people not read from the store (%r); the last known are used", err)
            with self._lock:
                self._loaded_at = self._clock()
                return self._access
        with self._lock:
            return self._merge(stored)

    def refreshed(self) -> Access:
        """The access, read again first when it is older than ``refresh_s``."""
        return self.load() if self.stale else self._access

    def _merge(self, stored: list[Person]) -> Access:
        """Take ``stored`` as the store's people (the caller holds the lock)."""
        self._loaded_at = self._clock()
        self._access = Access.merge(self.base, stored)
        return self._access

    def grant(self, chat_id: int, meter_id: str, name: str = "") -> Person:
        """Let a chat see and top up a meter, as a tenant (stored). Refused for an owner.
        One change at a time: the stored people are read, changed and written under the
        lock, so two quick ``/akses`` for one chat cannot lose a meter."""
        store = self._require_store()
        with self._lock:
            stored = store.list_people()
            if Access.merge(self.base, stored).is_owner(chat_id):
                raise AccessRefused("owner", chat_id=chat_id)
            known = next((p for p in stored if p.chat_id == chat_id), None)
            meters = (known.meters if known else frozenset()) | {meter_id}
            person = Person(chat_id, TENANT, meters, name or (known.name if known else ""), "store")
            store.put_person(person)
            self._merge([p for p in stored if p.chat_id != chat_id] + [person])
            return person

    def revoke(self, chat_id: int, meter_id: str | None = None) -> Person | None:
        """Take back a meter (None: every meter) that ``/akses`` gave a chat; the person
        left in the store, or None when nothing stored is left. Refused when only the
        file gives it (``in_file``) or nothing does (``not_found``)."""
        store = self._require_store()
        with self._lock:
            stored = store.list_people()
            known = next((p for p in stored if p.chat_id == chat_id), None)
            from_file = [p for p in self.base if p.chat_id == chat_id]
            in_file = any(p.is_owner or meter_id is None or meter_id in p.meters for p in from_file)
            if known is None or (meter_id is not None and meter_id not in known.meters):
                raise AccessRefused("in_file" if in_file else "not_found", chat_id=chat_id)
            left = frozenset() if meter_id is None else known.meters - {meter_id}
            others = [p for p in stored if p.chat_id != chat_id]
            person: Person | None = None
            if left:
                person = replace(known, meters=left)
                store.put_person(person)
                others.append(person)
            else:
                store.remove_person(chat_id)
            self._merge(others)
            return person

    def _require_store(self) -> Store:
        if self._store is None:
            raise AccessRefused("no_store")
        return self._store
