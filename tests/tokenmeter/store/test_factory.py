"""open_store: the configured adapter, seeded from [[meters]] without overwriting."""

from __future__ import annotations

from pathlib import Path

from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tests.tokenmeter.store.contract import make_reading
from tokenmeter.config import Config
from tokenmeter.domain import Meter, Schedule
from tokenmeter.store.factory import open_store
from tokenmeter.store.firebase import FirebaseStore
from tokenmeter.store.sqlite import SqliteStore


def sqlite_config(tmp_path: Path, name: str = "Rumah", times: list[str] | None = None) -> Config:
    return Config.model_validate(
        {
            "store": {"sqlite_path": str(tmp_path / "t.db")},
            "meters": [{"id": "rumah", "name": name, "schedule": times or ["06:00"]}],
        }
    )


def test_sqlite_is_the_default_and_is_seeded(tmp_path: Path) -> None:
    """The default store is SQLite, holding the configured meters and schedules."""
    store = open_store(sqlite_config(tmp_path))
    try:
        assert isinstance(store, SqliteStore)
        assert store.list_meters() == [Meter("rumah", "Rumah")]
        assert store.get_schedule("rumah") == Schedule(("06:00",))
    finally:
        store.close()


def test_seeding_never_overwrites_a_stored_schedule(tmp_path: Path) -> None:
    """After the first start the store's schedule wins; meter configs follow the file."""
    first = open_store(sqlite_config(tmp_path))
    first.set_schedule("rumah", Schedule(("09:00",)))
    first.close()
    second = open_store(sqlite_config(tmp_path, name="Rumah Baru", times=["12:00"]))
    try:
        assert second.get_schedule("rumah") == Schedule(("09:00",))
        assert second.get_meter("rumah") == Meter("rumah", "Rumah Baru")
    finally:
        second.close()


def test_firebase_backend(tmp_path: Path) -> None:
    """backend = firebase opens the Firebase adapter on the configured URL."""
    with FirebaseRtdbServer() as server:
        config = Config.model_validate(
            {
                "store": {
                    "backend": "firebase",
                    "firebase_url": server.url("factory"),
                    "sqlite_path": str(tmp_path / "outbox.db"),
                }
            }
        )
        store = open_store(config)
        try:
            assert isinstance(store, FirebaseStore)
            assert server.read("factory", ["meters", "rumah", "schedule", "times"]) == [
                "06:00",
                "18:00",
            ]
        finally:
            store.close()


def test_firebase_away_at_start(tmp_path: Path) -> None:
    """An unreachable Firebase does not stop the start; writes wait in the outbox."""
    server = FirebaseRtdbServer().start()
    url = server.url("away")
    server.stop()
    config = Config.model_validate(
        {
            "store": {
                "backend": "firebase",
                "firebase_url": url,
                "sqlite_path": str(tmp_path / "outbox.db"),
            }
        }
    )
    store = open_store(config)
    try:
        assert isinstance(store, FirebaseStore)
        store.add_reading(make_reading("rumah", 1))
        assert store.queued_writes == 1
    finally:
        store.close()


def test_seeding_keeps_a_stored_threshold(tmp_path: Path) -> None:
    """A low_kwh set in the store (from Telegram) survives a restart with the file's value."""
    first = open_store(sqlite_config(tmp_path))
    first.put_meter(Meter("rumah", "Rumah", low_kwh=25.0))
    first.close()
    second = open_store(sqlite_config(tmp_path))
    try:
        stored = second.get_meter("rumah")
        assert stored is not None and stored.low_kwh == 25.0
    finally:
        second.close()
