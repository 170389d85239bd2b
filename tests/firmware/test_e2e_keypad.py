"""End to end: the PC's TopUpService -> real mosquitto -> the keypad firmware (its
real modules, umqtt.simple mapped onto paho, key timing at 1/20) -> relays pressing
a simulated meter's keys -> the balance read again -> CONFIRMED."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.firmware.conftest import Firmware
from tests.tokenmeter.services.simkit import ShownReader, sim_config, token
from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.camera import CameraClient
from tokenmeter.devices.keypad import KeypadLink
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import TopUpStatus
from tokenmeter.events import EventBus
from tokenmeter.services.check import CheckService
from tokenmeter.services.topup import TopUpService
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.factory import open_store

METER_KEYS = {"enter": "ENTER", "backspace": "BACK"}


@dataclass
class RunningFirmware:
    app: Any
    thread: threading.Thread
    stop: threading.Event
    errors: list[BaseException]


@pytest.fixture
def meter() -> SimulatedMeter:
    return SimulatedMeter("rumah", start_kwh=40.0)


@pytest.fixture
def config(tmp_path: Path, broker: LocalBroker) -> Config:
    return sim_config(tmp_path, broker.url, result_timeout_s=20.0)


@pytest.fixture
def firmware(
    esp32_on_paho: Firmware,
    broker: LocalBroker,
    config: Config,
    meter: SimulatedMeter,
    tmp_path: Path,
) -> Iterator[RunningFirmware]:
    """The keypad firmware in a thread; its relays press the simulated meter's keys."""
    fw = esp32_on_paho
    cfg = fw.example_config(
        MQTT_HOST=broker.host, MQTT_PORT=broker.port, MQTT_PREFIX=config.mqtt.prefix
    )
    key_of_gpio = {gpio: key for key, gpio in cfg.KEY_PINS.items()}
    on_level = 0 if cfg.RELAY_ACTIVE_LOW else 1

    def solenoid(gpio: int, level: int) -> None:
        key = key_of_gpio.get(gpio)
        if key is not None and level == on_level:
            meter.press(METER_KEYS.get(key, key))

    fw.board.pin_listeners.append(solenoid)
    flash = tmp_path / "flash"
    flash.mkdir()
    app = fw.load("main").build(
        cfg,
        journal_path=str(flash / "keypad_ids.json"),
        schedule_path=str(flash / "schedule.json"),
    )
    app.loop_ms = 100  # 5 ms of real time per loop at scale 1/20
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            app.run(stop=stop.is_set)
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)

    thread = threading.Thread(target=run, name="esp32-firmware", daemon=True)
    thread.start()
    yield RunningFirmware(app, thread, stop, errors)
    stop.set()
    thread.join(10)
    app.link.close()


@pytest.fixture
async def topups(
    config: Config, meter: SimulatedMeter, firmware: RunningFirmware
) -> AsyncIterator[tuple[TopUpService, KeypadLink]]:
    """The PC side as tokenmeter.app wires it, with the meter's display read exactly."""
    store = open_store(config)
    bus = EventBus()
    mqtt = MqttLink(config.mqtt.url, prefix=config.mqtt.prefix)
    camera = CameraClient(timeout_s=2.0, retries=1, sim_meters={"rumah": meter})
    reader = ShownReader()
    reader.watch(meter)
    checks = CheckService(config, store, camera, bus, reader=reader)
    keypad = KeypadLink(mqtt, store, bus)
    service = TopUpService(config, store, keypad, checks, bus)
    keypad.start()
    mqtt.start()
    assert await asyncio.to_thread(mqtt.wait_connected, 10)
    assert await keypad.wait_status("rumah", 10), "the firmware never said it is online"
    await service.open()
    yield service, keypad
    await service.close()
    await asyncio.to_thread(mqtt.stop)
    await keypad.close()
    await camera.aclose()
    await asyncio.to_thread(store.close)


async def test_top_up_through_the_firmware_is_confirmed_and_never_retyped(
    topups: tuple[TopUpService, KeypadLink], firmware: RunningFirmware, meter: SimulatedMeter
) -> None:
    """A token goes PC -> broker -> firmware -> 21 presses -> CONFIRMED; a re-send of
    the same id is answered from the firmware's journal without a single press."""
    service, keypad = topups
    digits = token(7)
    before = meter.kwh
    started = await service.start("rumah", digits, "test")
    done = await service.wait("rumah", started.id, timeout=30)
    assert not firmware.errors
    assert done.status is TopUpStatus.CONFIRMED, (done.status, done.error)
    assert meter.tokens_accepted == 1 and meter.keys_pressed == 21
    assert meter.kwh > before
    first = await keypad.result("rumah", started.id, timeout=1)
    assert first is not None and first.ok and first.pressed == 21
    assert firmware.app.journal.get(started.id)["ok"] is True

    answers: list[dict[str, Any]] = []
    keypad.mqtt.subscribe("rumah", "keypad/result", lambda _m, _l, p: answers.append(p))
    await asyncio.sleep(0.3)
    keypad.send("rumah", started.id, digits)  # e.g. after the PC reconnected
    for _ in range(100):
        if answers:
            break
        await asyncio.sleep(0.05)
    assert answers and answers[0]["id"] == started.id and answers[0]["pressed"] == 21
    assert meter.keys_pressed == 21
    assert not firmware.errors
