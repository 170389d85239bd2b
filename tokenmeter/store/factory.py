"""Open the configured store and seed it from the configuration."""

from __future__ import annotations

import logging
from dataclasses import replace

from tokenmeter.config import Config
from tokenmeter.domain import Schedule
from tokenmeter.errors import StoreUnavailable
from tokenmeter.meter_registry import merge_registered_quietly
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)


def open_store(config: Config, *, seed: bool = True) -> Store:
    """Return the store of ``[store]`` (SQLite unless backend = "firebase").

    With ``seed`` the ``[[meters]]`` are written as meter configs and each
    meter's ``schedule`` is stored when the store has none yet (after that the
    store is the truth, changed with ``tokenmeter schedule set`` or the apps). Then
    the meters kept in the store (``tokenmeter meter add|import``) are appended to
    ``config.meters``; a ``[[meters]]`` block wins for an id in both (a warning).
    """
    store: Store
    if config.store.backend == "firebase":
        from tokenmeter.store.firebase import FirebaseStore

        store = FirebaseStore(
            config.store.firebase_url,
            credentials=config.store.firebase_credentials,
            outbox_path=config.store.sqlite_path,
        )
    else:
        from tokenmeter.store.sqlite import SqliteStore

        store = SqliteStore(config.store.sqlite_path)
    if seed:
        try:
            seed_store(store, config)
        except StoreUnavailable as err:  # a cloud store that is away: start anyway
            log.warning("could not seed the store from the configuration: %s", err)
        except BaseException:
            store.close()
            raise
        merge_registered_quietly(config, store)  # meters added with `tokenmeter meter add`
    return store


def seed_store(store: Store, config: Config) -> None:
    """Write configured meters; seed schedules and thresholds only where the store has none.

    Like the schedule, the low-balance threshold is the store's once seeded: ``/batas``
    changes it there, and a restart must not put the file's value back.
    """
    for meter_config in config.meters:
        meter = meter_config.to_meter()
        stored = store.get_meter(meter.id)
        if stored is not None:
            meter = replace(meter, low_kwh=stored.low_kwh)
        if stored != meter:
            store.put_meter(meter)
        if store.get_schedule(meter.id) is None:
            store.set_schedule(meter.id, Schedule.parse(meter_config.schedule))
            log.info("meter %s: schedule seeded from the configuration", meter.id)
