"""A core on simulated meters and a real broker, for the top-up tests (the fault
tests and ``tests/tokenmeter/services/test_topup.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.tokenmeter.services.simkit import EventLog, ShownReader, eventually, sim_config
from tokenmeter.app import Core, SimOptions, build_core
from tokenmeter.config import Config
from tokenmeter.domain import TopUpStatus
from tokenmeter.events import TopUpChanged
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice


def fault_config(tmp_path: Path, broker_url: str, *, result_timeout_s: float = 5.0) -> Config:
    return sim_config(tmp_path, broker_url, result_timeout_s=result_timeout_s)


async def start_core(
    config: Config, tmp_path: Path, *, key_time_scale: float = 0.01
) -> tuple[Core, EventLog]:
    """Build and start a core whose simulated display is read exactly (no OCR)."""
    core = build_core(
        config, sim=SimOptions(key_time_scale=key_time_scale, state_dir=tmp_path / "sim")
    )
    reader = ShownReader()
    for meter in core.sim_meters.values():
        reader.watch(meter)
    core.checks.reader = reader
    events = EventLog()
    core.bus.subscribe(events)
    await core.start()
    return core, events


def new_device(core: Core, broker_url: str) -> SimulatedKeypadDevice:
    """A keypad that comes (back) online for meter ``rumah``."""
    device = SimulatedKeypadDevice(
        core.sim_meters["rumah"], broker_url, prefix=core.config.mqtt.prefix, time_scale=0.01
    )
    device.start()
    return device


def told(events: EventLog, topup_id: str) -> list[TopUpStatus]:
    """The states of one top-up published to the notifiers, in order."""
    return [e.topup.status for e in events.of(TopUpChanged) if e.topup.id == topup_id]


async def told_at_last(
    events: EventLog, topup_id: str, state: TopUpStatus, timeout: float = 5
) -> bool:
    """Whether ``state`` becomes the last state published for the top-up. The store is
    written before the change is published, so a test that saw the state in the store
    waits for the notifiers too."""
    return await eventually(lambda: told(events, topup_id)[-1:] == [state], timeout)


def status(core: Core, topup_id: str) -> TopUpStatus | None:
    topup = core.store.get_topup("rumah", topup_id)
    return None if topup is None else topup.status
