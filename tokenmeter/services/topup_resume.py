"""Keeping open top-ups moving: one task per top-up, driven again whenever something
may have changed for it.

Triggers: the keypad says it is online (also again after a broker restart), the MQTT
link reconnects, a keypad result arrives that nobody waits for any more (late), a
later check shows a plausible credit, and every ``EXPIRY_POLL_S``, which also expires
top-ups queued longer than ``topup.queue_expiry_minutes``. At start, the open
top-ups in the store are announced again and driven with the digits from the vault.

Commands still awaiting an answer are re-sent with the SAME id, so the device answers
a repeat without pressing; compare-and-set keeps two processes from both sending one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from tokenmeter.config import Config
from tokenmeter.devices.keypad import KeypadLink, KeypadResult
from tokenmeter.domain import DeviceStatus, Meter, ReadingStatus, TopUp, TopUpStatus, utcnow
from tokenmeter.errors import StoreUnavailable, TokenmeterError
from tokenmeter.events import CheckCompleted, Event
from tokenmeter.services.topup_digits import TokenKeeper
from tokenmeter.services.topup_flow import NO_ANSWER, OPEN, UNKNOWN_ID, TopUpFlow
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

EXPIRY_POLL_S = 30.0  # queued top-ups expire, open ones are asked about again


class OpenTopUps:
    """The tasks driving open top-ups and what starts them again."""

    def __init__(
        self,
        config: Config,
        store: Store,
        keypad: KeypadLink,
        flow: TopUpFlow,
        digits: TokenKeeper,
    ) -> None:
        self.config = config
        self.store = store
        self.keypad = keypad
        self.flow = flow
        self.digits = digits
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, Meter] = {}  # top-ups to drive again when their task ends
        self._meter_locks: dict[str, asyncio.Lock] = {}
        self._expiry: asyncio.Task[None] | None = None

    def follow(self) -> None:
        """Listen to the keypads and the link."""
        self.keypad.on_status(self._device_status)
        self.keypad.on_reconnect(self._resend_awaiting)
        self.keypad.on_result(self._result_arrived)

    def poll(self) -> None:
        """Start the poll that expires queued top-ups and retries open ones."""
        self._expiry = asyncio.create_task(self._expire_loop())

    async def stop(self) -> None:
        """Cancel the poll and every running top-up task."""
        tasks = [t for t in (self._expiry, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def resume(self) -> None:
        """Expire old queued top-ups, tell the owner the state of the unfinished ones and
        drive them again, with the digits kept in the vault (idempotent)."""
        await self.expire_queued()
        for meter_config in self.config.meters:
            meter = meter_config.to_meter()
            for topup in await asyncio.to_thread(self.store.list_topups, meter.id, OPEN):
                if topup.id not in self.digits:
                    await self.digits.recall(meter.id, topup.id)
                if topup.id not in self._tasks:
                    await self.flow.announce(meter, topup)
                self.launch(meter, topup.id)

    async def expire_queued(self, now: datetime | None = None) -> list[TopUp]:
        """Expire top-ups queued longer than ``config.topup.queue_expiry_minutes``; their
        digits are wiped."""
        now = now or utcnow()
        limit = timedelta(minutes=self.config.topup.queue_expiry_minutes)
        expired: list[TopUp] = []
        for meter_config in self.config.meters:
            meter = meter_config.to_meter()
            queued = await asyncio.to_thread(
                self.store.list_topups, meter.id, frozenset({TopUpStatus.QUEUED})
            )
            for topup in queued:
                since = max(
                    (c.ts for c in topup.history if c.status is TopUpStatus.QUEUED),
                    default=topup.ts,
                )
                if now - since < limit:
                    continue
                moved = await self.flow.move(
                    meter,
                    topup,
                    {TopUpStatus.QUEUED},
                    TopUpStatus.EXPIRED,
                    "queue expired",
                    error="expired",
                )
                if moved is not None:
                    await self.digits.forget(meter.id, topup.id)
                    expired.append(moved)
        return expired

    # -- the tasks --------------------------------------------------------------
    def launch(self, meter: Meter, topup_id: str) -> None:
        """Drive the top-up in a task; when one runs for it, once more after it ends."""
        running = self._tasks.get(topup_id)
        if running is not None and not running.done():
            self._again[topup_id] = meter
            return
        task = asyncio.create_task(self._drive(meter, topup_id), name=f"topup-{topup_id}")
        self._tasks[topup_id] = task
        task.add_done_callback(lambda done: self._finished(topup_id, done))

    def _finished(self, topup_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(topup_id) is task:
            del self._tasks[topup_id]
        if task.cancelled():
            return
        if task.exception() is not None:
            log.error("top-up %s stopped on an error", topup_id, exc_info=task.exception())
        again = self._again.pop(topup_id, None)
        if again is not None:  # something arrived for it while it ran (a late result)
            self.launch(again, topup_id)

    async def _drive(self, meter: Meter, topup_id: str) -> None:
        async with self._meter_locks.setdefault(meter.id, asyncio.Lock()):
            self._again.pop(topup_id, None)
            await self.flow.run(meter, topup_id)

    # -- devices and results coming and going -----------------------------------
    async def _device_status(self, meter_id: str, status: DeviceStatus) -> None:
        if not status.online:
            return
        self._resend(lambda m: m == meter_id)
        await self._retry_open_soon(lambda m: m == meter_id)

    async def _resend_awaiting(self) -> None:
        self._resend(lambda m: True)
        await self._retry_open_soon(lambda m: True)

    async def _retry_open_soon(self, which: Callable[[str], bool]) -> None:
        """``retry_open`` on a device's or the link's return; with the store away the
        expiry poll retries later (it logs the outage once)."""
        try:
            await self.retry_open(which)
        except StoreUnavailable as err:
            log.info("open top-ups not retried now, the store is away (%s)", err)

    def _resend(self, which: Callable[[str], bool]) -> None:
        """Send commands still awaiting an answer again, with the SAME id."""
        for (meter_id, topup_id), digits in list(self.flow.awaiting.items()):
            if which(meter_id):
                log.info("re-sending keypad command %s to %s (same id)", topup_id, meter_id)
                self.keypad.send(meter_id, topup_id, digits, enter=bool(digits))

    async def retry_open(self, which: Callable[[str], bool]) -> None:
        """Drive again the top-ups still open: queued ones with their digits (also one
        another process, e.g. ``tokenmeter topup``, left queued in the vault), and sent
        ones without an answer (asked about by id). Compare-and-set keeps two
        processes from both sending one."""
        for meter_config in self.config.meters:
            if not which(meter_config.id):
                continue
            meter = meter_config.to_meter()
            for topup in await asyncio.to_thread(self.store.list_topups, meter.id, OPEN):
                if topup.status is TopUpStatus.QUEUED and topup.id not in self.digits:
                    await self.digits.recall(meter.id, topup.id)
                if topup.status is TopUpStatus.SENT or topup.id in self.digits:
                    self.launch(meter, topup.id)

    async def _result_arrived(self, meter_id: str, result: KeypadResult) -> None:
        """A keypad result, maybe one nobody waits for any more: settle its top-up."""
        if result.error == UNKNOWN_ID:
            return  # the answer to a query; whoever asked handles it
        try:
            meter = self.config.meter(meter_id).to_meter()
        except TokenmeterError:
            return
        if result.id in self._tasks:
            self._again[result.id] = meter  # looked at again once its task ends
            return
        topup = await asyncio.to_thread(self.store.get_topup, meter.id, result.id)
        if topup is not None and topup.status is TopUpStatus.SENT:
            log.info("late keypad result for top-up %s: settling it", topup.id)
            self.launch(meter, topup.id)

    async def notify(self, event: Event) -> None:
        """A check that shows a plausible credit settles the one top-up open without
        an answer on that meter (the bus calls this for every event)."""
        if not isinstance(event, CheckCompleted):
            return
        reading = event.outcome.reading
        if reading.status is not ReadingStatus.OK or reading.source == "topup":
            return
        meter = event.outcome.meter
        try:
            sent = await asyncio.to_thread(
                self.store.list_topups, meter.id, frozenset({TopUpStatus.SENT})
            )
        except StoreUnavailable:
            return  # the store is away; the expiry poll retries open top-ups later
        open_sent = [t for t in sent if t.error == NO_ANSWER and t.id not in self._tasks]
        if len(open_sent) == 1:
            await self.flow.credit_seen(
                meter, open_sent[0], reading.kwh, "credit seen on a later check"
            )

    async def _expire_loop(self) -> None:
        failing = ""  # the failure being reported, so an outage is logged once
        while True:
            await asyncio.sleep(EXPIRY_POLL_S)
            try:
                await self.expire_queued()
                await self.retry_open(lambda m: True)
            except Exception as err:
                if type(err).__name__ != failing:
                    failing = type(err).__name__
                    log.warning("expiring or retrying top-ups failed: %s (%s)", failing, err)
                continue
            if failing:
                log.info("expiring and retrying top-ups works again")
                failing = ""
