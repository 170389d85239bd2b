"""The ESP32's RTC fallback, seen from the PC.

The keypad ESP32 keeps a DS3231 clock and a retained copy of each meter's schedule
(``{p}/{meter}/schedule``). At a slot time it sends ``{"type": "rtc_check"}`` on
``{p}/{meter}/event``; the PC runs the slot unless it already has. This module
only moves messages between MQTT (paho's thread) and the scheduler (the loop).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import Schedule

log = logging.getLogger(__name__)

RTC_CHECK = "rtc_check"

RtcHandler = Callable[[str, str], Awaitable[object]]
"""``(meter_id, rtc)`` — ``rtc`` is the device clock's text, for the logs."""


def schedule_copy(schedule: Schedule, timezone: str) -> dict[str, Any]:
    """The retained payload on ``{p}/{meter}/schedule``."""
    return {"times": list(schedule.times), "enabled": schedule.enabled, "timezone": timezone}


class RtcBridge:
    """Subscribes to device events and publishes retained schedule copies."""

    def __init__(self, mqtt: MqttLink, loop: asyncio.AbstractEventLoop, on_rtc: RtcHandler) -> None:
        self._mqtt = mqtt
        self._loop = loop
        self._on_rtc = on_rtc
        self._active = False

    def start(self) -> None:
        """Listen for ``rtc_check`` events of every meter (the link renews it on reconnect)."""
        if self._active:
            return
        self._active = True
        self._mqtt.subscribe("+", "event", self._on_event)

    def stop(self) -> None:
        """Ignore further events (the link has no unsubscribe; the handler goes quiet)."""
        self._active = False

    def publish_schedule(self, meter_id: str, schedule: Schedule, timezone: str) -> None:
        """Publish the retained schedule copy the device falls back on (QoS 1)."""
        self._mqtt.publish(meter_id, "schedule", schedule_copy(schedule, timezone), retain=True)

    # -- paho's thread ----------------------------------------------------------
    def _on_event(self, meter_id: str, leaf: str, payload: dict[str, Any]) -> None:
        if not self._active or leaf != "event" or payload.get("type") != RTC_CHECK:
            return
        rtc = str(payload.get("rtc", ""))
        try:
            asyncio.run_coroutine_threadsafe(self._forward(meter_id, rtc), self._loop)
        except RuntimeError:
            log.warning("RTC trigger for %s dropped: the service is stopping", meter_id)

    async def _forward(self, meter_id: str, rtc: str) -> None:
        try:
            await self._on_rtc(meter_id, rtc)
        except Exception:
            log.exception("RTC trigger for %s failed", meter_id)
