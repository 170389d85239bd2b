"""The store contract for meters kept as data (``register_meter`` and friends).

Mixed into ``StoreContract``, so both adapters run it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tokenmeter.domain import Meter, Reading, ReadingStatus, Schedule
from tokenmeter.store.base import Store

KAMAR = Meter("kamar-7", "Kamar 7", "Asia/Jakarta", 4.0, "http://10.0.0.7/capture")


class MeterRegistryContract:
    def test_registered_meter_round_trip(self, store: Store) -> None:
        """A registered meter is a stored meter and is listed as registered, by id."""
        store.put_meter(Meter("rumah", "Rumah"))  # seeded from a [[meters]] block
        store.register_meter(KAMAR)
        store.register_meter(Meter("kamar-3", "Kamar 3"))
        assert store.get_meter("kamar-7") == KAMAR
        assert [m.id for m in store.registered_meters()] == ["kamar-3", "kamar-7"]
        assert [m.id for m in store.list_meters()] == ["kamar-3", "kamar-7", "rumah"]

    def test_registering_again_replaces_the_config(self, store: Store) -> None:
        """Registering an id again updates its config and keeps one entry."""
        store.register_meter(KAMAR)
        store.register_meter(replace(KAMAR, name="Kamar Tujuh"))
        assert store.registered_meters() == [replace(KAMAR, name="Kamar Tujuh")]

    def test_unregister_keeps_config_schedule_and_history(self, store: Store) -> None:
        """Unregistering removes the mark only; config, schedule and readings stay."""
        store.register_meter(KAMAR)
        store.set_schedule("kamar-7", Schedule(("06:00",)))
        reading = Reading(
            id="r1",
            meter_id="kamar-7",
            ts=datetime(2026, 11, 20, tzinfo=UTC),
            kwh=12.5,
            text="12.50",
            confidence=0.9,
            source="cli",
            status=ReadingStatus.OK,
        )
        store.add_reading(reading)
        assert store.unregister_meter("kamar-7") is True
        assert store.unregister_meter("kamar-7") is False
        assert store.registered_meters() == []
        assert store.get_meter("kamar-7") == KAMAR
        assert store.get_schedule("kamar-7") == Schedule(("06:00",))
        assert [r.id for r in store.last_readings("kamar-7", 5)] == ["r1"]

    def test_unknown_meter_is_not_registered(self, store: Store) -> None:
        """Unregistering an unknown id answers False and writes nothing."""
        assert store.unregister_meter("nope") is False
        assert store.registered_meters() == []

    def test_registered_meters_seen_by_another_instance(
        self, store: Store, second_store: Store
    ) -> None:
        """Another connection on the same data sees the registration."""
        store.register_meter(KAMAR)
        assert second_store.registered_meters() == [KAMAR]
