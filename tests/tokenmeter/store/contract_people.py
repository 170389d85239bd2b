"""The store contract for people given access from Telegram (``/akses``).

Mixed into ``StoreContract``, so both adapters run it.
"""

from __future__ import annotations

from tokenmeter.access import OWNER, TENANT, Person
from tokenmeter.store.base import Store

TENANT_7 = Person(1007, TENANT, frozenset({"kamar-7", "kamar-8"}), "Budi", "store")
GROUP = Person(-100555, TENANT, frozenset({"kamar-3"}), "", "store")


class PeopleContract:
    def test_person_round_trip(self, store: Store) -> None:
        """Stored people come back with role, meters and name, by chat id (groups too)."""
        assert store.list_people() == []
        store.put_person(TENANT_7)
        store.put_person(GROUP)
        store.put_person(Person(42, OWNER, source="store"))
        assert store.list_people() == [GROUP, Person(42, OWNER, source="store"), TENANT_7]

    def test_putting_again_replaces(self, store: Store) -> None:
        """A chat has one entry; putting it again replaces its meters."""
        store.put_person(TENANT_7)
        store.put_person(Person(1007, TENANT, frozenset({"kamar-9"}), "Budi", "store"))
        assert store.list_people() == [
            Person(1007, TENANT, frozenset({"kamar-9"}), "Budi", "store")
        ]

    def test_remove_person(self, store: Store) -> None:
        """Removing answers whether there was an entry and leaves the others."""
        store.put_person(TENANT_7)
        store.put_person(GROUP)
        assert store.remove_person(1007) is True
        assert store.remove_person(1007) is False
        assert store.list_people() == [GROUP]

    def test_people_seen_by_another_instance(self, store: Store, second_store: Store) -> None:
        """Another connection on the same data sees a change made from Telegram."""
        store.put_person(TENANT_7)
        assert second_store.list_people() == [TENANT_7]
