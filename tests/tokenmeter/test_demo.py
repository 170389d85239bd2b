"""Tests for tokenmeter.demo: its config, token, printer and one cycle in-process."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np

import ocr
from tokenmeter.app import Core
from tokenmeter.demo import (
    DEMO_BALANCES,
    DEMO_METERS,
    DEMO_TOPUP_METER,
    DemoPrinter,
    demo_config,
    demo_token,
    run_demo,
)
from tokenmeter.domain import TopUpStatus, validate_token
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.sim.render import render_photo
from tokenmeter.store.sqlite import SqliteStore


def test_demo_token_is_a_valid_sts_token() -> None:
    """Every generated token passes the same validation a user's token does."""
    for _ in range(200):
        token = demo_token()
        assert len(token) == 20 and validate_token(token) == token


def test_demo_config_needs_nothing_outside(tmp_path: Path) -> None:
    """Two simulated meters, a local broker, SQLite under the data dir, no doors."""
    config = demo_config(tmp_path, "en", health_port=0)
    assert [(m.id, m.camera_url) for m in config.meters] == [(m, "sim:") for m, _ in DEMO_METERS]
    assert config.mqtt.url == "" and config.store.backend == "sqlite"
    assert config.store.sqlite_path.parent == tmp_path
    assert not config.telegram.token.get_secret_value() and config.blynk.transport == "off"


async def test_printer_is_plain_when_not_a_tty() -> None:
    """Lines carry a time and the text; no colour codes into a pipe or file."""
    stream = io.StringIO()
    DemoPrinter("en", stream).say("hello", "green", bold=True)
    line = stream.getvalue()
    assert line.endswith("  hello\n") and "\x1b[" not in line


async def test_one_cycle_reads_both_meters_and_confirms_the_topup(tmp_path: Path) -> None:
    """--once: both meters read by the real reader from the simulated photos, the
    token typed once and confirmed, exit code 0."""
    seen: list[Core] = []

    def prepare(core: Core) -> None:
        seen.append(core)

    stream = io.StringIO()
    code = await run_demo(
        data_dir=tmp_path,
        once=True,
        lang="en",
        stream=stream,
        stop=asyncio.Event(),
        on_core=prepare,
    )
    output = stream.getvalue()
    assert code == 0, output
    assert "[Rumah] Balance " in output and "[Kos Melati] Balance " in output
    assert "One cycle done: success." in output
    (core,) = seen
    (topup,) = SqliteStore(tmp_path / "tokenmeter.db").list_topups("rumah")
    assert topup.status is TopUpStatus.CONFIRMED
    assert core.sim_meters["rumah"].tokens_accepted == 1


def test_the_topup_meter_reads_on_every_balance_the_demo_can_end_on() -> None:
    """The demo's top-up is confirmed by reading the new balance; its meter's simulated
    display must read on the whole range a random token can lead to, or the demo (and
    its tests) would fail on some tokens."""
    meter_id, _ = DEMO_TOPUP_METER
    seed = SimulatedMeter(meter_id).seed
    low, high = DEMO_BALANCES
    misses = []
    for kwh in np.linspace(low, high, 41):
        shown = f"{kwh:.2f}"
        reading = ocr.read_display(render_photo(shown, seed=seed, size=(640, 480)).image)
        if reading.value != float(shown):
            misses.append((shown, reading.value, reading.reason))
    assert not misses, misses
