"""The path of one stored top-up to the keypad and back: probe, balance before,
``SENT``, keypad command, result, balance after, final status.

A top-up is reported typed only on evidence: the keypad's result, or a balance that
rose by a plausible credit. Without either it stays ``SENT`` with error
``no_answer`` (open) until the keypad is asked about the command id again
(``topup_resume``). Every change goes through the store's compare-and-set and is
published.
"""

from __future__ import annotations

import asyncio
import logging

from tokenmeter.config import Config
from tokenmeter.devices.keypad import KeypadLink, KeypadResult
from tokenmeter.domain import FINAL_TOPUP_STATUSES, Meter, ReadingStatus, TopUp, TopUpStatus
from tokenmeter.events import CheckOutcome, EventBus, TopUpChanged
from tokenmeter.services.check import CheckService
from tokenmeter.services.topup_digits import TokenKeeper
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

OPEN = frozenset({TopUpStatus.PENDING, TopUpStatus.QUEUED, TopUpStatus.SENT})
PROBE_TIMEOUT_S = 5.0  # a keypad that is there answers a probe in well under a second
PLAUSIBLE_CREDIT_KWH = 1.0  # a rise this large without the keypad's answer is a credit
NO_ANSWER = "no_answer"
UNKNOWN_ID = "unknown_id"


def unproven(topup: TopUp) -> bool:
    """Sent, but never proven typed (no keypad result, no credit seen)."""
    return topup.status is TopUpStatus.SENT or (
        topup.status is TopUpStatus.UNCONFIRMED and topup.error == NO_ANSWER
    )


class TopUpFlow:
    """Moves stored top-ups through the keypad; one call of ``run`` per top-up at a time
    per meter (the caller holds the meter's lock)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        keypad: KeypadLink,
        checker: CheckService,
        bus: EventBus,
        digits: TokenKeeper,
    ) -> None:
        self.config = config
        self.store = store
        self.keypad = keypad
        self.checker = checker
        self.bus = bus
        self.digits = digits
        self.awaiting: dict[tuple[str, str], str] = {}  # (meter, id) -> keys awaiting a result
        self.changed = asyncio.Condition()  # notified on every published change
        self.moving: set[str] = set()  # top-ups being stored in a new state, not yet published

    async def run(self, meter: Meter, topup_id: str) -> None:
        """Take an open top-up one step on: a sent one is asked about by id, a pending
        or queued one is sent when the keypad answers (else queued)."""
        topup = await asyncio.to_thread(self.store.get_topup, meter.id, topup_id)
        if topup is None or topup.status not in OPEN:
            return
        if topup.status is TopUpStatus.SENT:
            reached, result = await self.ask_device(meter, topup.id)
            if reached:
                await self.settle(meter, topup, result)
            return
        digits = self.digits.get(topup.id)
        if digits is None:
            await self.move(
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
            await self.settle(meter, sent, await self._command(meter, sent, digits))

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
                return await self.move(
                    meter,
                    topup,
                    {TopUpStatus.PENDING, TopUpStatus.QUEUED},
                    TopUpStatus.SENT,
                    before=kwh,
                    error="",
                )
        if topup.status is TopUpStatus.PENDING:
            await self.move(
                meter,
                topup,
                {TopUpStatus.PENDING},
                TopUpStatus.QUEUED,
                "device offline",
                error="device_offline",
            )
        return None

    async def ask_device(self, meter: Meter, topup_id: str) -> tuple[bool, KeypadResult | None]:
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
        self.awaiting[key] = ""
        try:
            self.keypad.query(meter.id, topup_id)
            result = await self.keypad.result(
                meter.id, topup_id, self.config.topup.result_timeout_s
            )
        finally:
            self.awaiting.pop(key, None)
        digits = self.digits.get(topup_id)
        if result is not None and result.error == UNKNOWN_ID and digits:
            topup = await asyncio.to_thread(self.store.get_topup, meter.id, topup_id)
            if topup is not None and topup.status is TopUpStatus.SENT:
                log.info("keypad of %s never received %s; sending it (same id)", meter.id, topup_id)
                result = await self._command(meter, topup, digits)
        return True, result

    async def settle(self, meter: Meter, topup: TopUp, result: KeypadResult | None) -> None:
        """The final status from the keypad's result and the balance after; without a
        result, only a plausible credit on the display settles it."""
        if result is None:
            await self._no_answer(meter, topup)
            return
        await self.digits.forget(meter.id, topup.id)
        if not result.ok:
            if result.error == UNKNOWN_ID:  # asked, never received, digits not kept
                await self.move(
                    meter,
                    topup,
                    {TopUpStatus.SENT},
                    TopUpStatus.EXPIRED,
                    "the device never received it",
                    error="token_not_kept",
                )
            else:
                await self.move(
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
            await self.move(
                meter, topup, {TopUpStatus.SENT}, TopUpStatus.CONFIRMED, after=kwh, error=""
            )
            return
        if kwh is None:
            error = after.reading.error or "unreadable"
        elif topup.before is None:
            error = "no_balance_before"
        else:
            error = "no_credit_seen"
        await self.move(
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
            await self.settle(meter, topup, late)
            return
        if await self.credit_seen(meter, topup, kwh, "credit seen; the keypad did not answer"):
            return
        if topup.error == NO_ANSWER:
            return  # the owner knows already
        await self.move(
            meter,
            topup,
            {TopUpStatus.SENT},
            TopUpStatus.SENT,
            "no answer from the keypad; asked again when it is back",
            error=NO_ANSWER,
            photo=after.reading.photo,
        )

    async def credit_seen(self, meter: Meter, topup: TopUp, kwh: float | None, note: str) -> bool:
        """CONFIRMED when ``kwh`` is a plausible credit over the balance before."""
        if topup.before is None or kwh is None or kwh - topup.before < PLAUSIBLE_CREDIT_KWH:
            return False
        moved = await self.move(
            meter, topup, {TopUpStatus.SENT}, TopUpStatus.CONFIRMED, note, after=kwh, error=""
        )
        if moved is not None:
            await self.digits.forget(meter.id, topup.id)
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
        self.awaiting[key] = digits
        try:
            self.keypad.send(meter.id, topup.id, digits, enter=bool(digits))
            return await self.keypad.result(meter.id, topup.id, self.config.topup.result_timeout_s)
        finally:
            self.awaiting.pop(key, None)

    async def move(
        self,
        meter: Meter,
        topup: TopUp,
        expected: set[TopUpStatus] | frozenset[TopUpStatus],
        status: TopUpStatus,
        note: str = "",
        **changes: object,
    ) -> TopUp | None:
        """Compare-and-set the top-up to ``status``, publish it; None when someone else
        moved it first. A final status wipes the digits."""
        updated = topup.moved(status, note, **changes)
        self.moving.add(topup.id)  # before the store shows it: ``wait`` holds on until published
        try:
            if not await asyncio.to_thread(
                self.store.transition_topup, meter.id, topup.id, frozenset(expected), updated
            ):
                log.warning("top-up %s was moved by someone else; not %s", topup.id, status.value)
                return None
            log.info("top-up %s (%s): %s %s", topup.id, topup.masked, status.value, note)
            if status in FINAL_TOPUP_STATUSES:
                await self.digits.forget(meter.id, topup.id)
            await self.announce(meter, updated)
            return updated
        finally:
            if topup.id in self.moving:  # refused or failed: nothing is published
                self.moving.discard(topup.id)
                async with self.changed:
                    self.changed.notify_all()

    async def announce(self, meter: Meter, topup: TopUp) -> None:
        """Publish the top-up's state and wake whoever waits for a change."""
        await self.bus.publish(TopUpChanged(meter, topup))
        self.moving.discard(topup.id)
        async with self.changed:
            self.changed.notify_all()
