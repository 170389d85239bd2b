"""The top-up service: type a token on the meter's keypad and prove the credit arrived.

validate → refuse a used token → store ``PENDING`` before anything is sent → balance
before → ``SENT`` → keypad command (QoS 1, id = the top-up id) → result → settle →
balance after → ``CONFIRMED`` (credit = after − before > 0) or ``UNCONFIRMED`` with
the photo. A device that is offline leaves it ``QUEUED`` until it returns (or it
expires). Every change goes through the store's compare-and-set and is published.

No token is typed twice: the command id is the top-up id, so every re-send (after a
reconnect, a device that came back, a restart) carries the same id and the device
answers a repeat without pressing. The digits live only in this process's memory
until typed; after a restart a queued token cannot be typed and is ``EXPIRED``
(the owner may enter it again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from tokenmeter.config import Config
from tokenmeter.devices.keypad import KeypadLink, KeypadResult
from tokenmeter.domain import (
    FINAL_TOPUP_STATUSES,
    DeviceStatus,
    Meter,
    ReadingStatus,
    StatusChange,
    TopUp,
    TopUpStatus,
    mask_token,
    new_id,
    token_hash,
    utcnow,
    validate_token,
)
from tokenmeter.errors import InvalidToken, StoreUnavailable, TokenmeterError
from tokenmeter.events import CheckOutcome, EventBus, TopUpChanged
from tokenmeter.services.check import CheckService
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

OPEN = frozenset({TopUpStatus.PENDING, TopUpStatus.QUEUED, TopUpStatus.SENT})
STATUS_WAIT_S = 3.0  # how long to wait for a keypad's (retained) status before calling it offline
EXPIRY_POLL_S = 30.0


class TopUpService:
    """Implements ``tokenmeter.services.api.TopUps``."""

    def __init__(
        self,
        config: Config,
        store: Store,
        keypad: KeypadLink,
        checker: CheckService,
        bus: EventBus,
    ) -> None:
        self.config = config
        self.store = store
        self.keypad = keypad
        self.checker = checker
        self.bus = bus
        self._digits: dict[str, str] = {}  # top-up id -> digits, until typed
        self._awaiting: dict[tuple[str, str], str] = {}  # (meter, id) -> keys awaiting a result
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._meter_locks: dict[str, asyncio.Lock] = {}
        self._changed = asyncio.Condition()
        self._expiry: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------
    async def open(self) -> None:
        """Follow the keypads, resume unfinished top-ups, expire old queued ones."""
        self.keypad.on_status(self._device_status)
        self.keypad.on_reconnect(self._resend_awaiting)
        try:
            await self.resume()
        except StoreUnavailable as err:
            log.warning("store not reachable; unfinished top-ups resume when it is (%s)", err)
        self._expiry = asyncio.create_task(self._expire_loop())

    async def resume(self) -> None:
        """Expire old queued top-ups and drive the unfinished ones again (idempotent)."""
        await self.expire_queued()
        for meter_config in self.config.meters:
            meter = meter_config.to_meter()
            for topup in await asyncio.to_thread(self.store.list_topups, meter.id, OPEN):
                self._launch(meter, topup.id)

    async def close(self) -> None:
        """Stop background work; unfinished top-ups stay in the store for the next start."""
        tasks = [t for t in (self._expiry, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    # -- the protocol ---------------------------------------------------------
    async def check_token(self, meter_id: str, token: str) -> str:
        """The token's digits, or InvalidToken (bad form, or used on this meter); starts nothing."""
        meter = self.config.meter(meter_id).to_meter()
        digits, _ = await self._unused(meter, token)
        return digits

    async def start(self, meter_id: str, token: str, source: str) -> TopUp:
        """Validate (raises InvalidToken), store PENDING and run the top-up in the background."""
        meter = self.config.meter(meter_id).to_meter()
        digits, existing = await self._unused(meter, token)
        hashed = token_hash(meter.id, digits)
        if existing is None:
            now = utcnow()
            topup = TopUp(
                id=new_id("t"),
                meter_id=meter.id,
                ts=now,
                masked=mask_token(digits),
                hash=hashed,
                status=TopUpStatus.PENDING,
                source=source,
                history=(StatusChange(TopUpStatus.PENDING, now),),
            )
            if not await asyncio.to_thread(self.store.create_topup, topup):
                raise InvalidToken("already_used")
        else:
            # Never typed (EXPIRED): entering it again revives the same record (same command id).
            revived = existing.moved(TopUpStatus.PENDING, "entered again", source=source, error="")
            if not await asyncio.to_thread(
                self.store.transition_topup,
                meter.id,
                existing.id,
                frozenset({TopUpStatus.EXPIRED}),
                revived,
            ):
                raise InvalidToken("already_used")
            topup = revived
        log.info("top-up %s of %s for %s stored (%s)", topup.id, topup.masked, meter.id, source)
        self._digits[topup.id] = digits
        await self._announce(meter, topup)
        self._launch(meter, topup.id)
        return topup

    async def _unused(self, meter: Meter, token: str) -> tuple[str, TopUp | None]:
        """The digits and the record of an earlier entry that was never typed (EXPIRED),
        if any; InvalidToken for a bad token or one already used on this meter."""
        digits = validate_token(token)
        hashed = token_hash(meter.id, digits)
        existing = await asyncio.to_thread(self.store.find_topup_by_hash, meter.id, hashed)
        if existing is not None and existing.status is not TopUpStatus.EXPIRED:
            raise InvalidToken("already_used")
        return digits, existing

    async def wait(self, meter_id: str, topup_id: str, timeout: float) -> TopUp:
        """Wait until the top-up is final or QUEUED, or ``timeout`` s have passed."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                topup = await asyncio.to_thread(self.store.get_topup, meter_id, topup_id)
                if topup is None:
                    raise TokenmeterError(f"no top-up {topup_id} for {meter_id}")
                remaining = deadline - time.monotonic()
                done = topup.status in FINAL_TOPUP_STATUSES or topup.status is TopUpStatus.QUEUED
                if done or remaining <= 0:
                    return topup
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    async def expire_queued(self, now: datetime | None = None) -> list[TopUp]:
        """Expire top-ups queued longer than ``config.topup.queue_expiry_minutes``."""
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
                moved = await self._move(
                    meter,
                    topup,
                    {TopUpStatus.QUEUED},
                    TopUpStatus.EXPIRED,
                    "queue expired",
                    error="expired",
                )
                if moved is not None:
                    self._digits.pop(topup.id, None)
                    expired.append(moved)
        return expired

    # -- the flow -------------------------------------------------------------
    def _launch(self, meter: Meter, topup_id: str) -> None:
        running = self._tasks.get(topup_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._drive(meter, topup_id), name=f"topup-{topup_id}")
        self._tasks[topup_id] = task
        task.add_done_callback(lambda done: self._finished(topup_id, done))

    def _finished(self, topup_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(topup_id) is task:
            del self._tasks[topup_id]
        if not task.cancelled() and task.exception() is not None:
            log.error("top-up %s stopped on an error", topup_id, exc_info=task.exception())

    async def _drive(self, meter: Meter, topup_id: str) -> None:
        async with self._meter_locks.setdefault(meter.id, asyncio.Lock()):
            topup = await asyncio.to_thread(self.store.get_topup, meter.id, topup_id)
            if topup is None or topup.status not in OPEN:
                return
            digits = self._digits.get(topup.id)
            if topup.status is not TopUpStatus.SENT:
                if digits is None:
                    await self._move(
                        meter,
                        topup,
                        {topup.status},
                        TopUpStatus.EXPIRED,
                        "token not kept across a restart",
                        error="token_not_kept",
                    )
                    return
                sent = await self._send_first(meter, topup)
                if sent is None:
                    return
                topup = sent
            await self._finish(meter, topup, digits or "")

    async def _send_first(self, meter: Meter, topup: TopUp) -> TopUp | None:
        """Balance before, then SENT; None when it stays queued or someone else moved it."""
        if not await self.keypad.wait_status(meter.id, STATUS_WAIT_S):
            if topup.status is TopUpStatus.PENDING:
                await self._move(
                    meter,
                    topup,
                    {TopUpStatus.PENDING},
                    TopUpStatus.QUEUED,
                    "device offline",
                    error="device_offline",
                )
            return None
        before = await self.checker.check(meter.id, "topup", fresh=True)
        kwh = before.reading.kwh if before.reading.status is ReadingStatus.OK else None
        return await self._move(
            meter,
            topup,
            {TopUpStatus.PENDING, TopUpStatus.QUEUED},
            TopUpStatus.SENT,
            before=kwh,
            error="",
        )

    async def _finish(self, meter: Meter, topup: TopUp, digits: str) -> None:
        """Command out, answer in, balance after, final status."""
        result = await self._command(meter, topup, digits)
        self._digits.pop(topup.id, None)
        if result is not None and not result.ok:
            if result.error == "unknown_id":  # a query after a restart: never typed
                await self._move(
                    meter,
                    topup,
                    {TopUpStatus.SENT},
                    TopUpStatus.EXPIRED,
                    "the device never received it",
                    error="token_not_kept",
                )
            else:
                await self._move(
                    meter,
                    topup,
                    {TopUpStatus.SENT},
                    TopUpStatus.FAILED,
                    f"device error after {result.pressed} keys",
                    error=result.error or "device",
                )
            return
        after, kwh = await self._balance_after(meter)
        if topup.before is not None and kwh is not None and kwh - topup.before > 0:
            await self._move(meter, topup, {TopUpStatus.SENT}, TopUpStatus.CONFIRMED, after=kwh)
            return
        if result is None:
            error = "no_answer"
        elif kwh is None:
            error = after.reading.error or "unreadable"
        elif topup.before is None:
            error = "no_balance_before"
        else:
            error = "no_credit_seen"
        await self._move(
            meter,
            topup,
            {TopUpStatus.SENT},
            TopUpStatus.UNCONFIRMED,
            error,
            after=kwh,
            error=error,
            photo=after.reading.photo,
        )

    async def _balance_after(self, meter: Meter) -> tuple[CheckOutcome, float | None]:
        """The balance after typing: the display may still show a message or the typed
        digits for a moment, so up to ``after_reads`` photos, ``settle_s`` apart."""
        for attempt in range(self.config.topup.after_reads):
            await asyncio.sleep(self.config.topup.settle_s)
            after = await self.checker.check(meter.id, "topup", fresh=True, allow_rise=True)
            if after.reading.status is ReadingStatus.OK and after.reading.kwh is not None:
                return after, after.reading.kwh
            log.info("balance of %s after the top-up not read (photo %d)", meter.id, attempt + 1)
        return after, None

    async def _command(self, meter: Meter, topup: TopUp, digits: str) -> KeypadResult | None:
        """Send (or, without digits, ask about) the command and wait for its answer."""
        key = (meter.id, topup.id)
        self._awaiting[key] = digits
        try:
            self.keypad.send(meter.id, topup.id, digits, enter=bool(digits))
            return await self.keypad.result(meter.id, topup.id, self.config.topup.result_timeout_s)
        finally:
            self._awaiting.pop(key, None)

    async def _move(
        self,
        meter: Meter,
        topup: TopUp,
        expected: set[TopUpStatus] | frozenset[TopUpStatus],
        status: TopUpStatus,
        note: str = "",
        **changes: object,
    ) -> TopUp | None:
        updated = topup.moved(status, note, **changes)
        if not await asyncio.to_thread(
            self.store.transition_topup, meter.id, topup.id, frozenset(expected), updated
        ):
            log.warning("top-up %s was moved by someone else; not %s", topup.id, status.value)
            return None
        log.info("top-up %s (%s): %s %s", topup.id, topup.masked, status.value, note)
        await self._announce(meter, updated)
        return updated

    async def _announce(self, meter: Meter, topup: TopUp) -> None:
        await self.bus.publish(TopUpChanged(meter, topup))
        async with self._changed:
            self._changed.notify_all()

    # -- devices coming and going ---------------------------------------------
    async def _device_status(self, meter_id: str, status: DeviceStatus) -> None:
        if not status.online:
            return
        self._resend(lambda m: m == meter_id)
        try:
            meter = self.config.meter(meter_id).to_meter()
        except TokenmeterError:
            return
        for topup in await asyncio.to_thread(
            self.store.list_topups, meter.id, frozenset({TopUpStatus.QUEUED})
        ):
            if topup.id in self._digits:
                self._launch(meter, topup.id)

    async def _resend_awaiting(self) -> None:
        self._resend(lambda m: True)

    def _resend(self, which: Callable[[str], bool]) -> None:
        """Send commands still awaiting an answer again, with the SAME id."""
        for (meter_id, topup_id), digits in list(self._awaiting.items()):
            if which(meter_id):
                log.info("re-sending keypad command %s to %s (same id)", topup_id, meter_id)
                self.keypad.send(meter_id, topup_id, digits, enter=bool(digits))

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_POLL_S)
            try:
                await self.expire_queued()
            except Exception:
                log.exception("expiring queued top-ups failed")
