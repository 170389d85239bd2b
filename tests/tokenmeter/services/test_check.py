"""Tests for tokenmeter.services.check: real camera client, simulated meter, SQLite."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

import ocr
from ocr.reading import Image
from tests.tokenmeter.services.simkit import EventLog, ScriptedReader, ShownReader, sim_config
from tokenmeter.config import Config
from tokenmeter.devices.camera import CameraClient
from tokenmeter.domain import (
    ReadingStatus,
    StatusChange,
    TopUp,
    TopUpStatus,
    utcnow,
)
from tokenmeter.errors import UnknownMeter
from tokenmeter.events import CheckCompleted, EventBus, LowBalance
from tokenmeter.profile import MeterProfile
from tokenmeter.services.check import CheckService, reader_threads
from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.sqlite import SqliteStore


@dataclass
class Rig:
    service: CheckService
    meter: SimulatedMeter
    store: SqliteStore
    events: EventLog
    config: Config


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


async def _rig(tmp_path: Path, *, start_kwh: float = 50.0, **options: object) -> Rig:
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1", **options)  # type: ignore[arg-type]
    meter = SimulatedMeter("rumah", start_kwh=start_kwh)
    reader = ShownReader()
    reader.watch(meter)
    store = SqliteStore(config.store.sqlite_path)
    bus, events = EventBus(), EventLog()
    bus.subscribe(events)
    camera = CameraClient(timeout_s=2, retries=0, sim_meters={"rumah": meter})
    service = CheckService(config, store, camera, bus, reader=reader)
    return Rig(service, meter, store, events, config)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    made = await _rig(tmp_path)
    yield made
    await made.service.camera.aclose()
    made.store.close()


async def test_check_reads_stores_and_publishes(rig: Rig) -> None:
    """A check stores an ok reading with its photo on disk and publishes the outcome."""
    outcome = await rig.service.check("rumah", "cli")
    reading = outcome.reading
    assert reading.status is ReadingStatus.OK and reading.kwh == 50.0
    assert reading.source == "cli" and reading.text == "50.00"
    assert Path(reading.photo).read_bytes()[:2] == b"\xff\xd8"
    assert rig.store.latest_reading("rumah") == reading
    assert [e.outcome for e in rig.events.of(CheckCompleted)] == [outcome]
    assert outcome.photo is not None and outcome.previous is None and not outcome.low


async def test_second_check_reports_the_change(rig: Rig) -> None:
    """The change since the last trusted reading is in the outcome."""
    await rig.service.check("rumah", "cli")
    for key in "12345678901234567890":
        rig.meter.press(key)
    rig.meter.press("ENTER")
    outcome = await rig.service.check("rumah", "topup", allow_rise=True)
    assert outcome.reading.status is ReadingStatus.OK
    assert outcome.change_kwh is not None and outcome.change_kwh > 9
    assert outcome.previous is not None and outcome.previous.kwh == 50.0


async def test_unknown_meter_raises(rig: Rig) -> None:
    """A meter id that is not configured is UnknownMeter, nothing stored."""
    with pytest.raises(UnknownMeter):
        await rig.service.check("nope", "cli")
    assert rig.store.latest_reading("nope") is None


async def test_camera_offline_is_stored_in_words(tmp_path: Path) -> None:
    """No photo: a camera_error reading without a number is stored and published."""
    made = await _rig(tmp_path, camera_url=f"http://127.0.0.1:{_closed_port()}/capture")
    try:
        outcome = await made.service.check("rumah", "schedule", scheduled=True)
    finally:
        await made.service.camera.aclose()
    reading = outcome.reading
    assert reading.status is ReadingStatus.CAMERA_ERROR and reading.kwh is None
    assert reading.error == "camera_unavailable" and reading.photo == ""
    assert made.store.latest_reading("rumah") == reading
    assert made.events.of(CheckCompleted)[0].scheduled
    made.store.close()


async def test_unreadable_display_is_stored_with_its_photo(rig: Rig) -> None:
    """A display showing an error reads as unreadable; the photo is kept, no number."""
    rig.meter.press("ENTER")  # a malformed entry: the LCD shows an error
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.status is ReadingStatus.UNREADABLE
    assert outcome.reading.kwh is None and outcome.reading.error == "unreadable"
    assert Path(outcome.reading.photo).exists()


async def test_implausible_read_is_retaken_then_unverified(rig: Rig) -> None:
    """A rise without a top-up is retaken once; still implausible it is stored unverified."""
    await rig.service.check("rumah", "cli")
    rig.service.reader = reader = ScriptedReader([90.0, 91.0])
    outcome = await rig.service.check("rumah", "cli")
    assert reader.calls == 2
    assert outcome.reading.status is ReadingStatus.UNVERIFIED
    assert outcome.reading.error == "implausible_rose" and outcome.reading.kwh == 91.0
    assert not outcome.low and outcome.change_kwh is None
    assert not rig.events.of(LowBalance)


async def test_misread_corrected_by_the_retake(rig: Rig) -> None:
    """A fall too fast on the first photo and a sane retake store the retake as ok."""
    await rig.service.check("rumah", "cli")
    rig.service.reader = reader = ScriptedReader([5.0, 49.99])
    outcome = await rig.service.check("rumah", "cli")
    assert reader.calls == 2
    assert outcome.reading.status is ReadingStatus.OK and outcome.reading.kwh == 49.99


async def test_repeated_rise_becomes_the_truth(rig: Rig) -> None:
    """A rise seen again on the next check (a token typed by hand) is then trusted."""
    await rig.service.check("rumah", "cli")
    rig.service.reader = ScriptedReader([90.0, 90.0, 89.99])
    first = await rig.service.check("rumah", "cli")
    second = await rig.service.check("rumah", "cli")
    assert first.reading.status is ReadingStatus.UNVERIFIED
    assert second.reading.status is ReadingStatus.OK and second.reading.kwh == 89.99


async def test_rise_after_a_typed_token_is_plausible(rig: Rig) -> None:
    """A top-up SENT since the last reading makes a higher balance believable."""
    await rig.service.check("rumah", "cli")
    now = utcnow()
    topup = TopUp(
        "t1", "rumah", now, "****", "h", TopUpStatus.CONFIRMED, "cli",
        history=(StatusChange(TopUpStatus.SENT, now + timedelta(seconds=1)),),
    )  # fmt: skip
    rig.store.create_topup(topup)
    rig.service.reader = ScriptedReader([80.0])
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.reading.status is ReadingStatus.OK and outcome.reading.kwh == 80.0


async def test_low_balance_alert_once_per_crossing(rig: Rig) -> None:
    """Under low_kwh alerts once; staying low does not; rising and falling again does."""
    rig.service.config.checks.max_kwh_per_hour = 1e12  # milliseconds apart here
    rig.service.reader = ScriptedReader([12.0, 9.5, 9.4, 9.3, 50.0, 9.0])
    await rig.service.check("rumah", "cli")
    low = await rig.service.check("rumah", "cli")
    await rig.service.check("rumah", "cli")
    await rig.service.check("rumah", "cli")
    assert low.low
    assert len(rig.events.of(LowBalance)) == 1
    await rig.service.check("rumah", "topup", allow_rise=True)
    await rig.service.check("rumah", "cli")
    alerts = rig.events.of(LowBalance)
    assert len(alerts) == 2
    assert [a.outcome.reading.kwh for a in alerts] == [9.5, 9.0]


async def test_concurrent_checks_of_one_meter_coalesce(rig: Rig) -> None:
    """Five callers at once share one photo and one stored reading."""
    outcomes = await asyncio.gather(*(rig.service.check("rumah", "cli") for _ in range(5)))
    assert len({o.reading.id for o in outcomes}) == 1
    assert len(rig.store.last_readings("rumah", 10)) == 1


async def test_fresh_check_takes_its_own_photo(rig: Rig) -> None:
    """fresh=True does not share a running check's result."""
    first, second = await asyncio.gather(
        rig.service.check("rumah", "cli"), rig.service.check("rumah", "topup", fresh=True)
    )
    assert first.reading.id != second.reading.id
    assert len(rig.store.last_readings("rumah", 10)) == 2


async def test_only_the_last_photos_are_kept(tmp_path: Path) -> None:
    """photos_keep bounds the photos on disk per meter."""
    made = await _rig(tmp_path, photos_keep=2)
    try:
        for _ in range(4):
            await made.service.check("rumah", "cli", fresh=True)
    finally:
        await made.service.camera.aclose()
        made.store.close()
    assert len(list((made.config.store.photo_dir / "rumah").glob("*.jpg"))) == 2


async def test_threshold_from_the_store_is_used(rig: Rig) -> None:
    """A low_kwh changed in the store (/batas) decides the alert, not the file's value."""
    stored = rig.config.meter("rumah").to_meter()
    rig.store.put_meter(replace(stored, low_kwh=60.0))  # the reading is 50 kWh
    outcome = await rig.service.check("rumah", "cli")
    assert outcome.low and outcome.meter.low_kwh == 60.0
    assert len(rig.events.of(LowBalance)) == 1


async def test_scheduled_sources_mark_the_event(rig: Rig) -> None:
    """Checks from the schedule or the RTC are published as scheduled; others are not."""
    await rig.service.check("rumah", "schedule")
    await rig.service.check("rumah", "rtc", fresh=True)
    await rig.service.check("rumah", "telegram", fresh=True)
    assert [e.scheduled for e in rig.events.of(CheckCompleted)] == [True, True, False]


async def test_the_profile_flash_setting_reaches_the_camera(tmp_path: Path) -> None:
    """A meter without a profile is photographed with flash=1; once its stored profile
    says no flash, every check asks the HTTP camera for flash=0."""
    server = SimulatedCameraServer(SimulatedMeter("rumah", start_kwh=50.0)).start()
    made = await _rig(tmp_path, camera_url=server.url)
    try:
        await made.service.check("rumah", "cli")
        made.store.put_profile("rumah", MeterProfile(flash=False))
        await made.service.check("rumah", "cli")
    finally:
        await made.service.camera.aclose()
        made.store.close()
        server.stop()
    assert server.flashes == ["1", "0"]


def test_reader_threads_follow_concurrency_and_cores() -> None:
    """No more reader threads than checks at once, nor than CPU cores; at least one."""
    assert reader_threads(8, cpus=2) == 2
    assert reader_threads(2, cpus=16) == 2
    assert reader_threads(8, cpus=16) == 8
    assert reader_threads(1, cpus=1) == 1


async def test_displays_are_read_on_the_bounded_reader_threads(tmp_path: Path) -> None:
    """Eight meters checked at once are read on at most ``reader_threads`` threads of
    the reader pool (each such thread holds a copy of the network)."""
    ids = tuple(f"k{i}" for i in range(8))
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1", meters=ids)
    meters = {meter_id: SimulatedMeter(meter_id, start_kwh=50.0) for meter_id in ids}
    shown = ShownReader()
    for meter in meters.values():
        shown.watch(meter)
    threads: set[str] = set()

    def reader(image: Image) -> ocr.Reading:
        threads.add(threading.current_thread().name)
        time.sleep(0.05)  # the reads overlap
        return shown(image)

    store = SqliteStore(config.store.sqlite_path)
    camera = CameraClient(timeout_s=2, retries=0, sim_meters=meters)
    service = CheckService(config, store, camera, EventBus(), reader=reader)
    try:
        outcomes = await asyncio.gather(*(service.check(m, "schedule") for m in ids))
    finally:
        await service.finish()
        await camera.aclose()
        store.close()
    assert [o.reading.kwh for o in outcomes] == [50.0] * len(ids)
    assert all(name.startswith("read-display") for name in threads), threads
    assert 1 <= len(threads) <= reader_threads(config.checks.concurrency)


async def test_finish_cancels_checks_under_way_and_waits_for_the_reader(tmp_path: Path) -> None:
    """A check whose caller is gone (a stopped scheduler) is cancelled by ``finish``,
    which returns only after the display being read is done: the store can close."""
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1")
    meter = SimulatedMeter("rumah", start_kwh=50.0)
    shown = ShownReader()
    shown.watch(meter)
    reading, done = threading.Event(), threading.Event()

    def reader(image: Image) -> ocr.Reading:
        reading.set()
        time.sleep(0.3)
        done.set()
        return shown(image)

    store = SqliteStore(config.store.sqlite_path)
    camera = CameraClient(timeout_s=2, retries=0, sim_meters={"rumah": meter})
    service = CheckService(config, store, camera, EventBus(), reader=reader)
    caller = asyncio.create_task(service.check("rumah", "schedule"))
    try:
        assert await asyncio.to_thread(reading.wait, 5)
        caller.cancel()  # the check itself is shielded from its caller and goes on
        await service.finish()
        assert done.is_set()
        assert caller.cancelled()
        assert store.latest_reading("rumah") is None  # cancelled before it was stored
    finally:
        await camera.aclose()
        store.close()
