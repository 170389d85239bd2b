"""Tests for tokenmeter.app: the core built from a config, started and stopped."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.tokenmeter.services.simkit import ShownReader, sim_config
from tokenmeter.app import SimOptions, build_core, sim_meter_id
from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import ReadingStatus


def test_sim_meter_id() -> None:
    """sim: is the meter itself, sim:x another simulated meter, http: none."""
    assert sim_meter_id("sim:", "rumah") == "rumah"
    assert sim_meter_id(" sim:kos ", "rumah") == "kos"
    assert sim_meter_id("http://cam/capture", "rumah") is None


async def test_embedded_defaults_run_on_their_own(tmp_path: Path) -> None:
    """With an empty [mqtt] url the core starts its own broker and a simulated meter."""
    config = Config.model_validate(
        {
            "store": {"sqlite_path": str(tmp_path / "tm.db"), "photo_dir": str(tmp_path / "p")},
            "meters": [{"id": "rumah", "camera_url": "sim:"}],
        }
    )
    core = build_core(config)
    reader = ShownReader()
    reader.watch(core.sim_meters["rumah"])
    core.checks.reader = reader
    async with core:
        assert core.broker is not None and core.broker.running
        assert core.mqtt.connected and core.keypad.is_online("rumah")
        outcome = await core.checks.check("rumah", "cli")
        assert outcome.reading.status is ReadingStatus.OK and outcome.reading.kwh == 120.0
    assert not core.broker.running
    assert (tmp_path / "sim" / "rumah.json").exists()


async def test_real_reader_through_the_whole_chain(tmp_path: Path, broker: LocalBroker) -> None:
    """With the project's OCR a check stores a reading and a photo, whatever it could read."""
    config = sim_config(tmp_path, broker.url)
    async with build_core(config, sim=SimOptions(state_dir=tmp_path / "sim")) as core:
        outcome = await core.checks.check("rumah", "cli")
        assert core.store.latest_reading("rumah") == outcome.reading
        assert outcome.reading.status in (ReadingStatus.OK, ReadingStatus.UNREADABLE)
        assert Path(outcome.reading.photo).exists()


async def test_meter_with_a_real_camera_url_has_no_simulator(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """An http camera gets no simulated meter or keypad; its keypad is simply unknown."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = sim_config(tmp_path, broker.url, camera_url=f"http://127.0.0.1:{port}/capture")
    async with build_core(config) as core:
        assert core.sim_meters == {} and core.sim_devices == []
        assert core.broker is None
        outcome = await core.checks.check("rumah", "cli")
        assert outcome.reading.status is ReadingStatus.CAMERA_ERROR
        assert not core.keypad.is_online("rumah")
