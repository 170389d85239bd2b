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

This module holds the entry points; ``topup_flow`` takes one top-up through the
keypad, ``topup_resume`` keeps open ones moving, ``topup_digits`` keeps the digits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime

from tokenmeter.config import Config
from tokenmeter.devices.keypad import KeypadLink
from tokenmeter.domain import (
    FINAL_TOPUP_STATUSES,
    Meter,
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
from tokenmeter.events import EventBus
from tokenmeter.services.check import CheckService
from tokenmeter.services.topup_digits import TokenKeeper
from tokenmeter.services.topup_flow import NO_ANSWER, UNKNOWN_ID, TopUpFlow, unproven
from tokenmeter.services.topup_resume import OpenTopUps
from tokenmeter.services.topup_vault import TokenVault
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)


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
        self._digits = TokenKeeper(vault)
        self._flow = TopUpFlow(config, store, keypad, checker, bus, self._digits)
        self._open = OpenTopUps(config, store, keypad, self._flow, self._digits)

    # -- lifecycle ------------------------------------------------------------
    async def open(self) -> None:
        """Follow the keypads, resume unfinished top-ups, expire old queued ones."""
        self._open.follow()
        self.bus.subscribe(self._open)
        try:
            await self.resume()
        except StoreUnavailable as err:
            log.warning("store not reachable; unfinished top-ups resume when it is (%s)", err)
        self._open.poll()

    async def resume(self) -> None:
        """Expire old queued top-ups, tell the owner the state of the unfinished ones and
        drive them again, with the digits kept in the vault (idempotent)."""
        await self._open.resume()

    async def close(self) -> None:
        """Stop background work; unfinished top-ups stay in the store for the next start."""
        await self._open.stop()
        self.bus.unsubscribe(self._open)

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
        await self._digits.keep(meter.id, topup.id, digits)
        await self._flow.announce(meter, topup)
        self._open.launch(meter, topup.id)
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
        reached, answer = await self._flow.ask_device(meter, existing.id)
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
        ``no_answer``), or ``timeout`` s have passed. A state is returned once it is
        published too (notifiers have it), not only stored."""
        deadline = time.monotonic() + timeout
        changed = self._flow.changed
        async with changed:
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
                published = topup.id not in self._flow.moving
                if (done and published) or remaining <= 0:
                    return topup
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), min(remaining, 1.0))

    async def expire_queued(self, now: datetime | None = None) -> list[TopUp]:
        """Expire top-ups queued longer than ``config.topup.queue_expiry_minutes``; their
        digits are wiped."""
        return await self._open.expire_queued(now)
