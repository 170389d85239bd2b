"""The composition root: config → store → links → simulators → services.

``build_core(config)`` wires everything and starts nothing; ``async with core`` (or
``await core.start()`` / ``await core.stop()``) starts it on the running loop and
stops it in reverse order. Doors, the scheduler and the health endpoint are added
on top of ``Core`` by their own steps.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.devices.camera import SIM_SCHEME, CameraClient
from tokenmeter.devices.keypad import KeypadLink
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.events import EventBus
from tokenmeter.services.check import CheckService
from tokenmeter.services.device_alerts import DeviceAlerts
from tokenmeter.services.topup import TopUpService
from tokenmeter.services.topup_vault import TokenVault
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.base import Store
from tokenmeter.store.factory import open_store

log = logging.getLogger(__name__)

CONNECT_WAIT_S = 10.0  # the local broker (it is starting with us)
EXTERNAL_CONNECT_WAIT_S = 1.0  # a broker elsewhere: a reachable one answers in this time
CONNECT_POLL_S = 0.05
SIM_STATUS_WAIT_S = 5.0


@dataclass(frozen=True)
class SimOptions:
    """How the simulated meters behave (tests speed them up)."""

    clock_scale: float = 1.0  # simulated seconds per wall second
    key_time_scale: float = 1.0  # 1.0 = real key timing (65 ms press, 500 ms gap)
    start_kwh: float = 120.0
    error_display_s: float = 3.0
    state_dir: Path | None = None  # None = "<sqlite_path dir>/sim"; keeps balances between runs


def sim_state_dir(config: Config, options: SimOptions) -> Path:
    return options.state_dir or config.store.sqlite_path.parent / "sim"


def sim_meter_id(camera_url: str, meter_id: str) -> str | None:
    """The simulated meter behind a ``sim:`` / ``sim:<id>`` URL, or None."""
    url = camera_url.strip()
    if not url.startswith(SIM_SCHEME):
        return None
    return url[len(SIM_SCHEME) :] or meter_id


@dataclass
class Core:
    """Everything the service, the doors and the CLI use, built from one Config."""

    config: Config
    store: Store
    bus: EventBus
    mqtt: MqttLink
    keypad: KeypadLink
    camera: CameraClient
    checks: CheckService
    topups: TopUpService
    alerts: DeviceAlerts | None = None
    broker: LocalBroker | None = None
    sim_meters: dict[str, SimulatedMeter] = field(default_factory=dict)
    sim_devices: list[SimulatedKeypadDevice] = field(default_factory=list)
    _started: bool = False

    async def start(self) -> Core:
        if self._started:
            return self
        self._started = True
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise
        return self

    async def _start_parts(self) -> None:
        if self.broker is not None:
            await asyncio.to_thread(self.broker.start)
        self.keypad.start()
        if self.alerts is not None:
            self.alerts.start()
        self.mqtt.start()
        wait_s = CONNECT_WAIT_S if self.broker is not None else EXTERNAL_CONNECT_WAIT_S
        connected = await self._mqtt_connected(wait_s)
        if not connected:
            log.warning(
                "MQTT broker not reachable yet; connecting in the background, "
                "commands wait until it is"
            )
        for device in self.sim_devices:
            device.start()
        if connected:  # a simulated keypad can only say it is there through the broker
            for device in self.sim_devices:
                await self.keypad.wait_status(device.meter_id, SIM_STATUS_WAIT_S)
        await self.topups.open()

    async def _mqtt_connected(self, timeout_s: float) -> bool:
        """Whether MQTT connects within ``timeout_s``; polled on the loop (no thread), so
        a stop during start-up is not held up."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not self.mqtt.connected:
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(CONNECT_POLL_S)
        return True

    async def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        await self.topups.close()
        if self.alerts is not None:
            await self.alerts.stop()
        for device in reversed(self.sim_devices):
            await asyncio.to_thread(device.stop)
        await asyncio.to_thread(self.mqtt.stop)
        await self.keypad.close()
        await self.checks.finish()  # nothing writes to the store after it closes
        await self.checks.profiles.finish()
        await self.camera.aclose()
        for meter in self.sim_meters.values():
            meter.save()
        await asyncio.to_thread(self.store.close)
        if self.broker is not None:
            await asyncio.to_thread(self.broker.close)

    async def __aenter__(self) -> Core:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def build_core(config: Config, *, sim: SimOptions | None = None) -> Core:
    """Wire the core from ``config``; nothing runs until ``start``."""
    sim = sim or SimOptions()
    store = open_store(config)
    bus = EventBus()
    broker = None if config.mqtt.url else LocalBroker()
    broker_url = config.mqtt.url or (broker.url if broker else "")
    mqtt = MqttLink(
        broker_url,
        prefix=config.mqtt.prefix,
        username=config.mqtt.username,
        password=config.mqtt.password.get_secret_value(),
        ca_file=config.mqtt.ca_file,
        client_id=config.mqtt.client_id,
    )
    sim_meters: dict[str, SimulatedMeter] = {}
    sim_devices: list[SimulatedKeypadDevice] = []
    for meter in config.meters:
        sim_id = sim_meter_id(meter.camera_url, meter.id)
        if sim_id is None:
            continue
        if sim_id not in sim_meters:
            sim_meters[sim_id] = SimulatedMeter(
                sim_id,
                start_kwh=sim.start_kwh,
                clock_scale=sim.clock_scale,
                state_path=sim_state_dir(config, sim) / f"{sim_id}.json",
                error_display_s=sim.error_display_s,
            )
        sim_devices.append(
            SimulatedKeypadDevice(
                sim_meters[sim_id],
                broker_url,
                prefix=config.mqtt.prefix,
                time_scale=sim.key_time_scale,
                username=config.mqtt.username,
                password=config.mqtt.password.get_secret_value(),
                ca_file=config.mqtt.ca_file,
                meter_id=meter.id,
            )
        )
    camera = CameraClient(
        timeout_s=config.checks.camera_timeout_s,
        retries=config.checks.camera_retries,
        sim_meters=sim_meters,
    )
    keypad = KeypadLink(mqtt, store, bus)
    checks = CheckService(config, store, camera, bus)
    vault = TokenVault(config.store.sqlite_path.parent)  # the key is never in the store
    topups = TopUpService(config, store, keypad, checks, bus, vault)
    return Core(
        config=config,
        store=store,
        bus=bus,
        mqtt=mqtt,
        keypad=keypad,
        camera=camera,
        checks=checks,
        topups=topups,
        alerts=DeviceAlerts(config, mqtt, keypad, bus),
        broker=broker,
        sim_meters=sim_meters,
        sim_devices=sim_devices,
    )
