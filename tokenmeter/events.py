"""Events the services emit and every notifier (Telegram, Blynk, console) receives.

``EventBus.publish`` awaits its notifiers, so the services wait for them. A notifier
that talks to the outside world (Telegram) is therefore subscribed behind a
``NotifierQueue``: publishing only enqueues, and the sends happen on their own task
with a time limit each, off the path of a check or a top-up.
"""

from __future__ import annotations

import asyncio
import contextlib
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


@dataclass(frozen=True)
class SlotSummary:
    """The scheduled checks of one slot, told as one message (``tokenmeter.slot_summary``).

    ``low_crossed``: meters whose balance crossed under ``low_kwh`` in this slot."""

    outcomes: tuple[CheckOutcome, ...]
    low_crossed: frozenset[str] = frozenset()


Event = CheckCompleted | LowBalance | TopUpChanged | DeviceChanged | MeterBeep | SlotSummary


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


class NotifierQueue:
    """Implements ``Notifier`` by queueing: ``notify`` returns at once, and one sender
    task hands the events to ``notifier`` in order, each within ``timeout_s``. An event
    not delivered in time is dropped with a warning; when ``max_events`` wait, the
    oldest is dropped. Started by ``start``, drained briefly and ended by ``stop``."""

    def __init__(
        self,
        notifier: Notifier,
        *,
        name: str,
        timeout_s: float = 45.0,
        max_events: int = 200,
    ) -> None:
        self.notifier = notifier
        self.name = name
        self.timeout_s = timeout_s
        self.dropped = 0  # events pushed out of a full queue
        self.timed_out = 0  # events whose delivery took longer than timeout_s
        self._queue: asyncio.Queue[Event] = asyncio.Queue(max_events)
        self._sender: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    async def notify(self, event: Event) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            log.warning("%s: queue full, oldest notification dropped", self.name)
        self._queue.put_nowait(event)

    def start(self) -> None:
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_forever(), name=f"{self.name}-sender")

    async def stop(self, drain_s: float = 1.0) -> None:
        """Give the waiting events up to ``drain_s`` to go out, then end the sender."""
        sender, self._sender = self._sender, None
        if sender is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_s)
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        if self.waiting:
            log.info("%s: %d notification(s) not sent at shutdown", self.name, self.waiting)

    def health(self) -> dict[str, int]:
        return {"waiting": self.waiting, "dropped": self.dropped, "timed_out": self.timed_out}

    async def _send_forever(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await asyncio.wait_for(self.notifier.notify(event), self.timeout_s)
            except TimeoutError:
                self.timed_out += 1
                log.warning(
                    "%s: %s not delivered within %.0f s; dropped",
                    self.name,
                    type(event).__name__,
                    self.timeout_s,
                )
            except Exception:
                log.error("%s failed on %s", self.name, type(event).__name__, exc_info=True)
            finally:
                self._queue.task_done()
