"""People and permissions: the file's and the store's people merged, ``/akses`` changes
kept in a real SQLite store, and the config problems ``config check`` reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tokenmeter.access import (
    OWNER,
    TENANT,
    Access,
    AccessBook,
    AccessRefused,
    Person,
    PersonConfig,
    file_people,
)
from tokenmeter.config import Config, config_problems
from tokenmeter.config_setup import setup_problems
from tokenmeter.domain import Meter
from tokenmeter.store.sqlite import SqliteStore

METERS = [Meter("kamar1", "Kamar 1"), Meter("kamar2", "Kamar 2"), Meter("kamar3", "Kamar 3")]
OWNER_CHAT, TENANT_1, TENANT_2 = 1001, 3001, 3002


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "tokenmeter.db")
    yield opened
    opened.close()


def base() -> list[Person]:
    return file_people(
        [OWNER_CHAT], [PersonConfig(chat_id=TENANT_1, meters=["kamar1"], name="Budi")]
    )


def test_owner_sees_everything_a_tenant_only_its_meters() -> None:
    """An owner may use every meter; a tenant its own; a stranger none."""
    access = Access.merge(base(), [])
    assert [m.id for m in access.visible(OWNER_CHAT, METERS)] == ["kamar1", "kamar2", "kamar3"]
    assert [m.id for m in access.visible(TENANT_1, METERS)] == ["kamar1"]
    assert not access.can_use(TENANT_1, "kamar2")
    assert not access.allowed(6666) and access.visible(6666, METERS) == []


def test_alerts_go_to_the_meters_people_and_the_owners() -> None:
    """chats_for: the tenants of that meter plus every owner, never another room's."""
    access = Access.merge(base(), [Person(TENANT_2, TENANT, frozenset({"kamar2"}), source="store")])
    assert access.chats_for("kamar1") == [OWNER_CHAT, TENANT_1]
    assert access.chats_for("kamar2") == [OWNER_CHAT, TENANT_2]
    assert access.chats_for("kamar3") == [OWNER_CHAT]


def test_the_store_adds_to_the_file_and_never_narrows_it() -> None:
    """Stored meters are added to the file's; a file owner stays an owner."""
    stored = [
        Person(TENANT_1, TENANT, frozenset({"kamar2"}), source="store"),
        Person(OWNER_CHAT, TENANT, frozenset({"kamar3"}), source="store"),
    ]
    access = Access.merge(base(), stored)
    person = access.person(TENANT_1)
    assert person is not None and person.meters == {"kamar1", "kamar2"} and person.name == "Budi"
    assert access.is_owner(OWNER_CHAT) and access.can_use(OWNER_CHAT, "kamar1")


def test_a_flat_allowed_chats_list_makes_owners() -> None:
    """Configs with only telegram.allowed_chats keep working: those chats are owners."""
    access = Access.merge(file_people([1, 2], []), [])
    assert access.owners() == [1, 2] and access.chats_for("kamar3") == [1, 2]


def test_grant_and_revoke_are_kept_in_the_store(store: SqliteStore) -> None:
    """/akses changes go to the store, are seen by a second book on the same store,
    and take back only what they gave."""
    book = AccessBook(base(), store)
    book.grant(TENANT_2, "kamar2", "Sari")
    book.grant(TENANT_2, "kamar3")
    other = AccessBook(base(), store)
    assert other.load().visible(TENANT_2, METERS) == METERS[1:]
    assert store.list_people() == [
        Person(TENANT_2, TENANT, frozenset({"kamar2", "kamar3"}), "Sari", "store")
    ]
    left = book.revoke(TENANT_2, "kamar3")
    assert left is not None and left.meters == {"kamar2"}
    assert book.revoke(TENANT_2) is None
    assert store.list_people() == [] and not book.current.allowed(TENANT_2)


def test_what_the_file_gives_is_not_taken_back_from_telegram(store: SqliteStore) -> None:
    """Revoking a meter the file gives, granting to a file owner, or revoking what
    nobody gave is refused with the reason."""
    book = AccessBook(base(), store)
    with pytest.raises(AccessRefused) as caught:
        book.revoke(TENANT_1, "kamar1")
    assert caught.value.reason == "in_file"
    with pytest.raises(AccessRefused) as caught:
        book.grant(OWNER_CHAT, "kamar1")
    assert caught.value.reason == "owner"
    with pytest.raises(AccessRefused) as caught:
        book.revoke(4444)
    assert caught.value.reason == "not_found"
    assert book.current.can_use(TENANT_1, "kamar1")


def test_the_book_reads_the_store_again_when_stale(store: SqliteStore) -> None:
    """A change made by another instance is seen once the book is older than refresh_s."""
    now = [0.0]
    book = AccessBook(base(), store, refresh_s=30, clock=lambda: now[0])
    assert book.stale and not book.refreshed().allowed(TENANT_2)
    store.put_person(Person(TENANT_2, TENANT, frozenset({"kamar2"}), source="store"))
    now[0] = 10.0
    assert not book.stale and not book.refreshed().allowed(TENANT_2)
    now[0] = 31.0
    assert book.refreshed().can_use(TENANT_2, "kamar2")


class AwayStore(SqliteStore):
    """A real SQLite store whose people cannot be read (the store is away)."""

    def list_people(self) -> list[Person]:
        raise ConnectionError("store away")


def test_a_store_that_is_away_is_tried_again_only_after_refresh_s(tmp_path: Path) -> None:
    """The last known access stays, and the store is not asked on every update."""
    now = [0.0]
    away = AwayStore(tmp_path / "away.db")
    try:
        book = AccessBook(base(), away, refresh_s=30, clock=lambda: now[0])
        assert book.refreshed().can_use(TENANT_1, "kamar1")
        now[0] = 10.0
        assert not book.stale
        now[0] = 31.0
        assert book.stale
    finally:
        away.close()


def test_two_grants_for_one_chat_keep_both_meters(store: SqliteStore) -> None:
    """Each grant reads, changes and writes the stored people in one step."""
    book = AccessBook(base(), store)
    book.grant(TENANT_2, "kamar2")
    book.grant(TENANT_2, "kamar3")
    (kept,) = [p for p in store.list_people() if p.chat_id == TENANT_2]
    assert kept.meters == {"kamar2", "kamar3"}
    assert book.current.can_use(TENANT_2, "kamar3")


def test_people_problems_in_the_file() -> None:
    """config check: a tenant without meters, an owner with meters, a chat twice, a
    tenant that allowed_chats makes an owner, and an unknown meter, each with its path."""
    data: dict[str, Any] = {
        "telegram": {"allowed_chats": [OWNER_CHAT]},
        "meters": [{"id": "kamar1"}],
        "people": [{"chat_id": 5, "role": "tenant"}],
    }
    assert [p[0] for p in config_problems(data)] == ["people.0"]
    data["people"] = [{"chat_id": 5, "role": OWNER, "meters": ["kamar1"]}]
    assert [p[0] for p in config_problems(data)] == ["people.0"]
    data["people"] = [
        {"chat_id": OWNER_CHAT, "meters": ["kamar1"]},
        {"chat_id": 7, "meters": ["kamar1"]},
        {"chat_id": 7, "meters": ["kamar9"]},
    ]
    assert [p[0] for p in config_problems(data)] == ["people.0.role", "people.2.chat_id"]
    config = Config.model_validate({**data, "people": data["people"][1:]})
    problems = setup_problems(config, env={})
    assert [p[0] for p in problems] == ["people.1.meters"]
    assert "'kamar9' is not a meter" in problems[0][1]
    assert setup_problems(config, known_meters={"kamar9"}, env={}) == []
