"""Alerts from the devices: the meter's low-credit beep and a keypad long offline,
published on the bus once per episode (Telegram, Blynk and the console tell them).

A beep episode starts with the first ``{"type": "beep"}`` event of a meter (the
ESP32's sound sensor; its firmware sends at most one a minute while the meter beeps)
and lasts while beeps keep coming less than ``BEEP_QUIET_S`` apart; a top-up
confirmed on that meter ends it. Only its first beep becomes a ``MeterBeep``.

An offline episode starts when the keypad's status says offline (its last will, or
its goodbye) and ends when it says online again. If it lasts
``telegram.offline_alert_minutes``, one ``DeviceChanged(long_offline=True)`` is
published; repeated "offline" messages during the episode change nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from tokenmeter.config import Config
from tokenmeter.devices.keypad import KeypadLink
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import DeviceStatus, TopUpStatus
from tokenmeter.errors import TokenmeterError
from tokenmeter.events import DeviceChanged, Event, EventBus, MeterBeep, TopUpChanged

log = logging.getLogger(__name__)

BEEP = "beep"
BEEP_QUIET_S = 3600.0  # a beep after this long without one starts a new episode
SECONDS_PER_MINUTE = 60.0


class DeviceAlerts:
    """Turns device events and keypad status into once-per-episode alerts."""

    def __init__(self, config: Config, mqtt: MqttLink, keypad: KeypadLink, bus: EventBus) -> None:
        self.config = config
        self.mqtt = mqtt
        self.keypad = keypad
        self.bus = bus
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_beep: dict[str, float] = {}  # meter -> monotonic time of its last beep
        self._offline: dict[str, asyncio.Task[None]] = {}  # meter -> its episode's timer
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Listen to device events and keypad status; call on the running loop before
        the MQTT link connects."""
        self._loop = asyncio.get_running_loop()
        self.mqtt.subscribe("+", "event", self._on_event)
        self.keypad.on_status(self._status)
        self.bus.subscribe(self)

    async def stop(self) -> None:
        """Cancel the offline timers and wait for alerts being published."""
        self._loop = None
        self.bus.unsubscribe(self)
        timers = list(self._offline.values())
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, *self._tasks, return_exceptions=True)
        self._offline.clear()

    # -- the beep -----------------------------------------------------------------
    def _on_event(self, meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        """Paho's thread: hand a beep to the loop."""
        loop = self._loop
        if payload.get("type") != BEEP or loop is None or loop.is_closed():
            return
        rtc = payload.get("rtc", "")
        loop.call_soon_threadsafe(self._heard, meter_id, rtc if isinstance(rtc, str) else "")

    def _heard(self, meter_id: str, rtc: str) -> None:
        try:
            self.config.meter(meter_id)
        except TokenmeterError:
            log.info("beep from unknown meter %s ignored", meter_id)
            return
        now = time.monotonic()
        last = self._last_beep.get(meter_id)
        self._last_beep[meter_id] = now
        if last is not None and now - last < BEEP_QUIET_S:
            return  # the same episode
        log.info("meter %s is beeping (low credit)", meter_id)
        self._spawn(self.bus.publish(MeterBeep(meter_id, rtc)))

    async def notify(self, event: Event) -> None:
        """A confirmed top-up ends the meter's beep episode."""
        if isinstance(event, TopUpChanged) and event.topup.status is TopUpStatus.CONFIRMED:
            self._last_beep.pop(event.meter.id, None)

    # -- the keypad offline ---------------------------------------------------------
    async def _status(self, meter_id: str, status: DeviceStatus) -> None:
        if self._loop is None:
            return  # stopped (or not started)
        timer = self._offline.get(meter_id)
        if status.online:
            if timer is not None:
                timer.cancel()
                del self._offline[meter_id]
            return
        if timer is None:  # a new episode; a repeated "offline" changes nothing
            self._offline[meter_id] = asyncio.create_task(self._offline_for(meter_id, status))

    async def _offline_for(self, meter_id: str, status: DeviceStatus) -> None:
        minutes = self.config.telegram.offline_alert_minutes
        await asyncio.sleep(minutes * SECONDS_PER_MINUTE)
        if not self.keypad.known_offline(meter_id):
            return
        log.warning("keypad of %s offline for over %d minutes", meter_id, minutes)
        await self.bus.publish(DeviceChanged(meter_id, status, long_offline=True))

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
