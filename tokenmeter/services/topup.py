"""The top-up service: type a token on the meter's keypad and prove the credit arrived.

validate → refuse a used token → store ``PENDING`` before anything is sent → the
keypad answers a probe? (no: ``QUEUED``) → balance before → probe again → ``SENT`` →
keypad command (QoS 1, id = the top-up id) → result → settle → balance after →
``CONFIRMED`` (credit = after − before > 0) or ``UNCONFIRMED`` (typed, credit not
seen) with the photo. Every change goes through the store's compare-and-set and is
published.

A top-up is reported typed only on evidence: the keypad's result, or a balance that
rose by a plausible credit. Without either it stays ``SENT`` with error
``no_answer`` (open): the keypad is asked about the command id whenever the link or
the keypad comes back (and every ``EXPIRY_POLL_S``), and a late result, or a later
check that shows the credit, settles it.

No token is typed twice: the command id is the top-up id, so every re-send carries
the same id and the device answers a repeat without pressing. The digits live in
this process's memory and, encrypted, in the ``TokenVault`` until typed, failed or
expired, so a restart resumes queued and pending top-ups.
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
from tokenmeter.events import CheckCompleted, CheckOutcome, Event, EventBus, TopUpChanged
from tokenmeter.services.check import CheckService
from tokenmeter.services.topup_vault import TokenVault, VaultUnavailable
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

OPEN = frozenset({TopUpStatus.PENDING, TopUpStatus.QUEUED, TopUpStatus.SENT})
PROBE_TIMEOUT_S = 5.0  # a keypad that is there answers a probe in well under a second
PLAUSIBLE_CREDIT_KWH = 1.0  # a rise this large without the keypad's answer is a credit
EXPIRY_POLL_S = 30.0  # queued top-ups expire, open ones are asked about again
NO_ANSWER = "no_answer"
UNKNOWN_ID = "unknown_id"


def unproven(topup: TopUp) -> bool:
    """Sent, but never proven typed (no keypad result, no credit seen)."""
    return topup.status is TopUpStatus.SENT or (
        topup.status is TopUpStatus.UNCONFIRMED and topup.error == NO_ANSWER
    )


class TopUpService:
    """Implements ``tokenmeter.services.api.TopUps``."""

    def __init__(
        self,
        config: Config,
        store: Store,
        keypad: KeypadLink,
        checker: CheckService,
        bus: EventBus,
        vault: TokenVault | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.keypad = keypad
        self.checker = checker
        self.bus = bus
        self.vault = vault
        self._digits: dict[str, str] = {}  # top-up id -> digits, until typed
        self._awaiting: dict[tuple[str, str], str] = {}  # (meter, id) -> keys awaiting a result
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, Meter] = {}  # top-ups to drive again when their task ends
        self._meter_locks: dict[str, asyncio.Lock] = {}
        self._changed = asyncio.Condition()
        self._expiry: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------
    async def open(self) -> None:
        """Follow the keypads, resume unfinished top-ups, expire old queued ones."""
        self.keypad.on_status(self._device_status)
        self.keypad.on_reconnect(self._resend_awaiting)
        self.keypad.on_result(self._result_arrived)
        self.bus.subscribe(self)
        try:
            await self.resume()
        except StoreUnavailable as err:
            log.warning("store not reachable; unfinished top-ups resume when it is (%s)", err)
        self._expiry = asyncio.create_task(self._expire_loop())

    async def resume(self) -> None:
        """Expire old queued top-ups, tell the owner the state of the unfinished ones and
        drive them again, with the digits kept in the vault (idempotent)."""
        await self.expire_queued()
        for meter_config in self.config.meters:
            meter = meter_config.to_meter()
            for topup in await asyncio.to_thread(self.store.list_topups, meter.id, OPEN):
                if topup.id not in self._digits:
                    await self._recall(meter, topup.id)
                if topup.id not in self._tasks:
                    await self._announce(meter, topup)
                self._launch(meter, topup.id)

    async def close(self) -> None:
        """Stop background work; unfinished top-ups stay in the store for the next start."""
        tasks = [t for t in (self._expiry, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self.bus.unsubscribe(self)

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
        elif existing.status is TopUpStatus.EXPIRED:
            # Never typed: entering it again revives the same record (same command id).
            topup = await self._revive(meter, existing, source, "entered again")
        else:
            topup = await self._reenter(meter, existing, digits, source)
        log.info("top-up %s of %s for %s stored (%s)", topup.id, topup.masked, meter.id, source)
        await self._keep(meter, topup.id, digits)
        await self._announce(meter, topup)
        self._launch(meter, topup.id)
        return topup

    async def _unused(self, meter: Meter, token: str) -> tuple[str, TopUp | None]:
        """The digits and the record of an earlier entry that was never typed (EXPIRED)
        or never proven typed, if any; InvalidToken for a bad token or one used on
        this meter."""
        digits = validate_token(token)
        hashed = token_hash(meter.id, digits)
        existing = await asyncio.to_thread(self.store.find_topup_by_hash, meter.id, hashed)
        typed = existing is not None and existing.status is not TopUpStatus.EXPIRED
        if typed and existing is not None and not unproven(existing):
            raise InvalidToken("already_used")
        return digits, existing

    async def _revive(self, meter: Meter, existing: TopUp, source: str, note: str) -> TopUp:
        revived = existing.moved(
            TopUpStatus.PENDING, note, source=source, error="", after=None, photo=""
        )
        if not await asyncio.to_thread(
            self.store.transition_topup,
            meter.id,
            existing.id,
            frozenset({existing.status}),
            revived,
        ):
            raise InvalidToken("already_used")
        return revived

    async def _reenter(self, meter: Meter, existing: TopUp, digits: str, source: str) -> TopUp:
        """A token entered again whose earlier entry was never proven typed: ask the
        keypad about its command id before refusing it."""
        reached, answer = await self._ask_device(meter, existing.id)
        if answer is not None and answer.error != UNKNOWN_ID:
            raise InvalidToken("already_used")  # the keypad has it; a late result settles it
        if answer is not None:
            log.info("keypad of %s never received %s: typed now", meter.id, existing.id)
            return await self._revive(meter, existing, source, "entered again; never received")
        if existing.status is TopUpStatus.SENT:
            return existing  # open: typed when the keypad answers that it never got it
        reopened = existing.moved(
            TopUpStatus.SENT, "entered again; keypad not reachable", source=source, error=NO_ANSWER
        )
        if not await asyncio.to_thread(
            self.store.transition_topup,
            meter.id,
            existing.id,
            frozenset({TopUpStatus.UNCONFIRMED}),
            reopened,
        ):
            raise InvalidToken("already_used")
        log.info("top-up %s reopened: not known whether it was typed (%s)", existing.id, reached)
        return reopened

    async def wait(self, meter_id: str, topup_id: str, timeout: float) -> TopUp:
        """Wait until the top-up is final, QUEUED or open without an answer (``SENT``,
        ``no_answer``), or ``timeout`` s have passed."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                topup = await asyncio.to_thread(self.store.get_topup, meter_id, topup_id)
                if topup is None:
                    raise TokenmeterError(f"no top-up {topup_id} for {meter_id}")
                remaining = deadline - time.monotonic()
                done = (
                    topup.status in FINAL_TOPUP_STATUSES
                    or topup.status is TopUpStatus.QUEUED
                    or (topup.status is TopUpStatus.SENT and topup.error == NO_ANSWER)
                )
                if done or remaining <= 0:
                    return topup
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

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
                moved = await self._move(
                    meter,
                    topup,
                    {TopUpStatus.QUEUED},
                    TopUpStatus.EXPIRED,
                    "queue expired",
                    error="expired",
                )
                if moved is not None:
                    await self._forget(meter, topup.id)
                    expired.append(moved)
        return expired

    # -- the flow -------------------------------------------------------------
    def _launch(self, meter: Meter, topup_id: str) -> None:
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
            self._launch(again, topup_id)

    async def _drive(self, meter: Meter, topup_id: str) -> None:
        async with self._meter_locks.setdefault(meter.id, asyncio.Lock()):
            self._again.pop(topup_id, None)
            topup = await asyncio.to_thread(self.store.get_topup, meter.id, topup_id)
            if topup is None or topup.status not in OPEN:
                return
            if topup.status is TopUpStatus.SENT:
                reached, result = await self._ask_device(meter, topup.id)
                if reached:
                    await self._settle(meter, topup, result)
                return
            digits = self._digits.get(topup.id)
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
            if sent is not None:
                await self._settle(meter, sent, await self._command(meter, sent, digits))

    async def _present(self, meter: Meter) -> bool:
        """The keypad answers now (not just a retained "online" that may be stale)."""
        if self.keypad.known_offline(meter.id):
            return False
        return await self.keypad.probe(meter.id, PROBE_TIMEOUT_S)

    async def _send_first(self, meter: Meter, topup: TopUp) -> TopUp | None:
        """Balance before, then SENT; None when it stays queued or someone else moved it.
        The keypad must answer before the photo and again right before the command."""
        if await self._present(meter):
            before = await self.checker.check(meter.id, "topup", fresh=True)
            if await self._present(meter):
                kwh = before.reading.kwh if before.reading.status is ReadingStatus.OK else None
                return await self._move(
                    meter,
                    topup,
                    {TopUpStatus.PENDING, TopUpStatus.QUEUED},
                    TopUpStatus.SENT,
                    before=kwh,
                    error="",
                )
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

    async def _ask_device(self, meter: Meter, topup_id: str) -> tuple[bool, KeypadResult | None]:
        """``(reached, result)`` for a command that may have been sent before: its
        result if one arrived, else the answer to a query about its id (nothing
        pressed). A keypad that never received it is sent the digits now, when they
        are kept (same id). ``reached`` is False when the keypad did not answer a probe."""
        known = self.keypad.known_result(meter.id, topup_id)
        if known is not None and known.error != UNKNOWN_ID:
            return True, known
        if not await self._present(meter):
            return False, None
        key = (meter.id, topup_id)
        self._awaiting[key] = ""
        try:
            self.keypad.query(meter.id, topup_id)
            result = await self.keypad.result(
                meter.id, topup_id, self.config.topup.result_timeout_s
            )
        finally:
            self._awaiting.pop(key, None)
        digits = self._digits.get(topup_id)
        if result is not None and result.error == UNKNOWN_ID and digits:
            topup = await asyncio.to_thread(self.store.get_topup, meter.id, topup_id)
            if topup is not None and topup.status is TopUpStatus.SENT:
                log.info("keypad of %s never received %s; sending it (same id)", meter.id, topup_id)
                result = await self._command(meter, topup, digits)
        return True, result

    async def _settle(self, meter: Meter, topup: TopUp, result: KeypadResult | None) -> None:
        """The final status from the keypad's result and the balance after; without a
        result, only a plausible credit on the display settles it."""
        if result is None:
            await self._no_answer(meter, topup)
            return
        await self._forget(meter, topup.id)
        if not result.ok:
            if result.error == UNKNOWN_ID:  # asked, never received, digits not kept
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
            await self._move(
                meter, topup, {TopUpStatus.SENT}, TopUpStatus.CONFIRMED, after=kwh, error=""
            )
            return
        if kwh is None:
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

    async def _no_answer(self, meter: Meter, topup: TopUp) -> None:
        """No result: confirmed if the display shows a plausible credit, else kept open
        (``SENT``, ``no_answer``) and asked about again when the keypad is back."""
        after, kwh = await self._balance_after(meter)
        late = self.keypad.known_result(meter.id, topup.id)
        if late is not None and late.error != UNKNOWN_ID:
            await self._settle(meter, topup, late)
            return
        if await self._credit_seen(meter, topup, kwh, "credit seen; the keypad did not answer"):
            return
        if topup.error == NO_ANSWER:
            return  # the owner knows already
        await self._move(
            meter,
            topup,
            {TopUpStatus.SENT},
            TopUpStatus.SENT,
            "no answer from the keypad; asked again when it is back",
            error=NO_ANSWER,
            photo=after.reading.photo,
        )

    async def _credit_seen(self, meter: Meter, topup: TopUp, kwh: float | None, note: str) -> bool:
        """CONFIRMED when ``kwh`` is a plausible credit over the balance before."""
        if topup.before is None or kwh is None or kwh - topup.before < PLAUSIBLE_CREDIT_KWH:
            return False
        moved = await self._move(
            meter, topup, {TopUpStatus.SENT}, TopUpStatus.CONFIRMED, note, after=kwh, error=""
        )
        if moved is not None:
            await self._forget(meter, topup.id)
        return moved is not None

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
        """Send the command and wait for its answer."""
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
        if status in FINAL_TOPUP_STATUSES:
            await self._forget(meter, topup.id)
        await self._announce(meter, updated)
        return updated

    async def _announce(self, meter: Meter, topup: TopUp) -> None:
        await self.bus.publish(TopUpChanged(meter, topup))
        async with self._changed:
            self._changed.notify_all()

    # -- the digits -----------------------------------------------------------
    async def _keep(self, meter: Meter, topup_id: str, digits: str) -> None:
        """Keep the digits in memory and, encrypted, in the vault until typed."""
        self._digits[topup_id] = digits
        if self.vault is not None:
            await self._vault_call(self.vault.put, meter.id, topup_id, digits)

    async def _forget(self, meter: Meter, topup_id: str) -> None:
        """Wipe the digits: typed, failed or expired."""
        self._digits.pop(topup_id, None)
        if self.vault is not None:
            await self._vault_call(self.vault.drop, meter.id, topup_id)

    async def _vault_call(self, call: Callable[..., object], *args: str) -> object:
        try:
            return await asyncio.to_thread(call, *args)
        except VaultUnavailable as err:
            log.warning("token vault: %s; the digits are kept in memory only", err)
            return None

    # -- devices and results coming and going -----------------------------------
    async def _device_status(self, meter_id: str, status: DeviceStatus) -> None:
        if not status.online:
            return
        self._resend(lambda m: m == meter_id)
        await self._retry_open(lambda m: m == meter_id)

    async def _resend_awaiting(self) -> None:
        self._resend(lambda m: True)
        await self._retry_open(lambda m: True)

    def _resend(self, which: Callable[[str], bool]) -> None:
        """Send commands still awaiting an answer again, with the SAME id."""
        for (meter_id, topup_id), digits in list(self._awaiting.items()):
            if which(meter_id):
                log.info("re-sending keypad command %s to %s (same id)", topup_id, meter_id)
                self.keypad.send(meter_id, topup_id, digits, enter=bool(digits))

    async def _retry_open(self, which: Callable[[str], bool]) -> None:
        """Drive again the top-ups still open: queued ones with their digits (also one
        another process, e.g. ``tokenmeter topup``, left queued in the vault), and sent
        ones without an answer (asked about by id). Compare-and-set keeps two
        processes from both sending one."""
        for meter_config in self.config.meters:
            if not which(meter_config.id):
                continue
            meter = meter_config.to_meter()
            for topup in await asyncio.to_thread(self.store.list_topups, meter.id, OPEN):
                if topup.status is TopUpStatus.QUEUED and topup.id not in self._digits:
                    await self._recall(meter, topup.id)
                if topup.status is TopUpStatus.SENT or topup.id in self._digits:
                    self._launch(meter, topup.id)

    async def _recall(self, meter: Meter, topup_id: str) -> None:
        """Load the digits of a top-up from the vault into memory, when kept there."""
        if self.vault is not None:
            digits = await self._vault_call(self.vault.get, meter.id, topup_id)
            if isinstance(digits, str):
                self._digits[topup_id] = digits

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
            self._launch(meter, topup.id)

    async def notify(self, event: Event) -> None:
        """A check that shows a plausible credit settles the one top-up open without
        an answer on that meter (the bus calls this for every event)."""
        if not isinstance(event, CheckCompleted):
            return
        reading = event.outcome.reading
        if reading.status is not ReadingStatus.OK or reading.source == "topup":
            return
        meter = event.outcome.meter
        open_sent = [
            t
            for t in await asyncio.to_thread(
                self.store.list_topups, meter.id, frozenset({TopUpStatus.SENT})
            )
            if t.error == NO_ANSWER and t.id not in self._tasks
        ]
        if len(open_sent) == 1:
            await self._credit_seen(
                meter, open_sent[0], reading.kwh, "credit seen on a later check"
            )

    async def _expire_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_POLL_S)
            try:
                await self.expire_queued()
                await self._retry_open(lambda m: True)
            except Exception as err:
                log.warning("expiring or retrying top-ups failed: %s", type(err).__name__)
