"""Fixtures for scheduler tests: a real SQLite store and schedulers stopped after use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.service import CheckScheduler
from tests.scheduler.doubles import ManualClock, RecordingChecker
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.store.base import Store
from tokenmeter.store.sqlite import SqliteStore

MakeScheduler = Callable[..., CheckScheduler]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "tokenmeter.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    """A real SqliteStore on a fresh file."""
    opened = SqliteStore(db_path)
    yield opened
    opened.close()


@pytest.fixture
async def make_scheduler() -> AsyncIterator[MakeScheduler]:
    """Build CheckSchedulers (not started); every one is stopped at the end."""
    made: list[CheckScheduler] = []

    def make(
        store: Store,
        checker: RecordingChecker,
        clock: ManualClock,
        *,
        instance_id: str = "pc-1",
        mqtt: MqttLink | None = None,
        grace: timedelta = timedelta(minutes=30),
    ) -> CheckScheduler:
        scheduler = CheckScheduler(
            store, checker, mqtt=mqtt, grace=grace, instance_id=instance_id, clock=clock
        )
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        await scheduler.stop()
