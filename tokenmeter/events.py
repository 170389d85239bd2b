"""Events the services emit and every notifier (Telegram, Blynk, console) receives."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from tokenmeter.domain import DeviceStatus, Meter, Reading, TopUp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one check, with the figures notifiers show."""

    meter: Meter
    reading: Reading
    photo: bytes | None = None  # the JPEG, when one was taken
    previous: Reading | None = None  # last ok reading before this one
    change_kwh: float | None = None  # reading.kwh - previous.kwh
    kwh_per_day: float | None = None  # recent usage rate
    days_left: float | None = None  # reading.kwh / kwh_per_day
    low: bool = False  # under meter.low_kwh right now


@dataclass(frozen=True)
class CheckCompleted:
    outcome: CheckOutcome
    scheduled: bool = False


@dataclass(frozen=True)
class LowBalance:
    """The balance crossed under ``meter.low_kwh`` (sent once per crossing)."""

    outcome: CheckOutcome


@dataclass(frozen=True)
class TopUpChanged:
    meter: Meter
    topup: TopUp


@dataclass(frozen=True)
class DeviceChanged:
    meter_id: str
    device: DeviceStatus
    long_offline: bool = False  # offline for longer than the alert threshold


@dataclass(frozen=True)
class MeterBeep:
    """The ESP32 heard the meter's low-credit beep."""

    meter_id: str
    rtc: str = ""


Event = CheckCompleted | LowBalance | TopUpChanged | DeviceChanged | MeterBeep


class Notifier(Protocol):
    async def notify(self, event: Event) -> None: ...


class EventBus:
    """Fans events out to notifiers; one notifier failing never stops the others."""

    def __init__(self) -> None:
        self._notifiers: list[Notifier] = []

    def subscribe(self, notifier: Notifier) -> None:
        self._notifiers.append(notifier)

    def unsubscribe(self, notifier: Notifier) -> None:
        if notifier in self._notifiers:
            self._notifiers.remove(notifier)

    async def publish(self, event: Event) -> None:
        results = await asyncio.gather(
            *(n.notify(event) for n in list(self._notifiers)), return_exceptions=True
        )
        for notifier, result in zip(list(self._notifiers), results, strict=False):
            if isinstance(result, BaseException):
                log.error(
                    "notifier %s failed on %s",
                    type(notifier).__name__,
                    type(event).__name__,
                    exc_info=result,
                )
