"""Slot summaries: the scheduled checks of one slot told as one message.

A boarding house with 30 rooms scheduled at 06:00 would otherwise get 30 photo
messages per chat. ``SlotBatcher`` sits between the event bus and a notifier
(Telegram, console): it holds the ``CheckCompleted`` (and ``LowBalance``) events of
scheduled checks until the slot's checks are done, then hands the notifier one
``SlotSummary``. Every other event passes straight through.

"Done" is: no scheduled check running (``busy``) and no new outcome for
``settle_s``, or ``max_wait_s`` after the first outcome, whichever comes first.

``mode`` (``telegram.slot_messages``): ``summary`` always summarises; ``per_meter``
passes everything through as before; ``auto`` summarises a slot of at least
``summary_from`` meters and releases a smaller one as its per-meter events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tokenmeter.domain import ReadingStatus
from tokenmeter.events import CheckCompleted, CheckOutcome, Event, LowBalance, Notifier, SlotSummary
from tokenmeter.texts import Lang, format_number

log = logging.getLogger(__name__)

SCHEDULED_SOURCES = frozenset({"schedule", "rtc"})
MAX_LISTED = 40  # meters named in one summary; the rest are counted
ALBUM_SIZE = 10  # Telegram's most photos in one media group


@dataclass(frozen=True)
class Attention:
    """A meter a summary names: under its threshold, or its check failed."""

    outcome: CheckOutcome
    kind: str  # "low" | "failed"


def needs_attention(outcome: CheckOutcome) -> str | None:
    """``low``, ``failed`` or None (the check is fine)."""
    reading = outcome.reading
    if reading.status is not ReadingStatus.OK or reading.kwh is None:
        return "failed"
    if reading.kwh < outcome.meter.low_kwh:
        return "low"
    return None


def attention_list(outcomes: Sequence[CheckOutcome]) -> list[Attention]:
    """The meters that need attention, most urgent first: low ones by days left (then
    balance), then failed checks, by name."""
    items = [Attention(o, kind) for o in outcomes if (kind := needs_attention(o)) is not None]

    def urgency(item: Attention) -> tuple[int, float, float, str]:
        outcome = item.outcome
        if item.kind == "failed":
            return (1, 0.0, 0.0, outcome.meter.name)
        days = outcome.days_left if outcome.days_left is not None else float("inf")
        kwh = outcome.reading.kwh if outcome.reading.kwh is not None else float("inf")
        return (0, days, kwh, outcome.meter.name)

    return sorted(items, key=urgency)


_WORDS: dict[str, dict[Lang, str]] = {
    "head": {"id": "Cek terjadwal · ", "en": "Scheduled check · "},
    "ok": {"id": "{n} meter OK", "en": "{n} meter(s) OK"},
    "low": {"id": "{n} di bawah batas", "en": "{n} under the threshold"},
    "failed": {"id": "{n} gagal dicek", "en": "{n} not checked"},
    "days": {"id": "±{days} hari", "en": "±{days} days"},
    "more": {"id": "dan {n} lainnya", "en": "and {n} more"},
    "camera_error": {"id": "kamera tidak menjawab", "en": "camera not answering"},
    "unreadable": {"id": "tidak terbaca", "en": "unreadable"},
    "unverified": {"id": "{kwh} kWh belum pasti", "en": "{kwh} kWh not verified"},
}


def attention_reason(outcome: CheckOutcome, lang: Lang) -> str:
    """What is wrong with one meter, in a few words: ``4,1 kWh ±1 hari``, ``tidak terbaca``."""
    reading = outcome.reading
    if reading.status is ReadingStatus.CAMERA_ERROR:
        return _WORDS["camera_error"][lang]
    if reading.kwh is None or reading.status is ReadingStatus.UNREADABLE:
        return _WORDS["unreadable"][lang]
    kwh = format_number(reading.kwh, 1, lang)
    if reading.status is ReadingStatus.UNVERIFIED:
        return _WORDS["unverified"][lang].format(kwh=kwh)
    text = f"{kwh} kWh"
    if outcome.days_left is not None:
        days = format_number(outcome.days_left, 0, lang)
        text += " " + _WORDS["days"][lang].format(days=days)
    return text


def summary_text(summary: SlotSummary, lang: Lang = "id") -> str:
    """``Cek terjadwal · 28 meter OK, 1 di bawah batas, 1 gagal dicek: Kamar 3 (4,1 kWh
    ±1 hari), Kamar 17 (tidak terbaca)``; the most urgent first, at most ``MAX_LISTED``
    named."""
    items = attention_list(summary.outcomes)
    ok = len(summary.outcomes) - len(items)
    parts = [_WORDS["ok"][lang].format(n=ok)]
    for kind in ("low", "failed"):
        count = sum(1 for item in items if item.kind == kind)
        if count:
            parts.append(_WORDS[kind][lang].format(n=count))
    text = ("⚠️ " if items else "") + _WORDS["head"][lang] + ", ".join(parts)
    if not items:
        return text + "."
    named = [f"{i.outcome.meter.name} ({attention_reason(i.outcome, lang)})" for i in items]
    if len(named) > MAX_LISTED:
        rest = len(named) - MAX_LISTED
        named = [*named[:MAX_LISTED], _WORDS["more"][lang].format(n=rest)]
    return text + ": " + ", ".join(named)


def photo_caption(outcome: CheckOutcome, lang: Lang = "id") -> str:
    """The caption of one attention photo in a summary's album."""
    return f"{outcome.meter.name}: {attention_reason(outcome, lang)}"


def is_scheduled(event: Event) -> bool:
    """Whether an event belongs to a scheduled check (and so to a slot summary)."""
    if isinstance(event, CheckCompleted):
        return event.scheduled or event.outcome.reading.source in SCHEDULED_SOURCES
    if isinstance(event, LowBalance):
        return event.outcome.reading.source in SCHEDULED_SOURCES
    return False


class SlotBatcher:
    """A ``Notifier`` that turns the scheduled checks of a slot into one ``SlotSummary``
    for ``notifier``; see the module docstring. ``stop`` hands over what it holds."""

    def __init__(
        self,
        notifier: Notifier,
        *,
        mode: str = "auto",
        summary_from: int = 4,
        busy: Callable[[], bool] | None = None,
        settle_s: float = 1.5,
        max_wait_s: float = 45.0,
        poll_s: float = 0.2,
    ) -> None:
        self.notifier = notifier
        self.mode = mode
        self.summary_from = summary_from
        self.busy = busy or (lambda: False)
        self.settle_s = settle_s
        self.max_wait_s = max_wait_s
        self.poll_s = poll_s
        self.summaries = 0  # summaries handed over (for tests and benchmarks)
        self._held: list[Event] = []
        self._first = 0.0
        self._last = 0.0
        self._told: set[str] = set()  # readings of the last flushed batch
        self._timer: asyncio.Task[None] | None = None

    async def notify(self, event: Event) -> None:
        if self.mode == "per_meter" or not is_scheduled(event):
            await self.notifier.notify(event)
            return
        if isinstance(event, LowBalance) and event.outcome.reading.id in self._told:
            return  # its check was in a summary already, which says it is low
        now = time.monotonic()
        if not self._held:
            self._first = now
        self._held.append(event)
        self._last = now
        if self._timer is None or self._timer.done():
            self._timer = asyncio.create_task(self._flush_when_settled(), name="slot-summary")

    async def _flush_when_settled(self) -> None:
        while self._held:  # events held while a flush is sent start the next batch
            await asyncio.sleep(self.poll_s)
            now = time.monotonic()
            settled = now - self._last >= self.settle_s and not self.busy()
            if settled or now - self._first >= self.max_wait_s:
                await self.flush()

    async def flush(self) -> None:
        """Hand over what is held now: one summary, or the events themselves."""
        held, self._held = self._held, []
        if not held:
            return
        outcomes = tuple(e.outcome for e in held if isinstance(e, CheckCompleted))
        if self.mode == "auto" and len(outcomes) < self.summary_from:
            for event in held:
                await self.notifier.notify(event)
            return
        crossed = frozenset(e.outcome.meter.id for e in held if isinstance(e, LowBalance))
        self._told = {outcome.reading.id for outcome in outcomes}
        self.summaries += 1
        log.info("slot summary of %d scheduled check(s)", len(outcomes))
        await self.notifier.notify(SlotSummary(outcomes, crossed))

    async def stop(self) -> None:
        """End the timer and hand over whatever is held."""
        timer, self._timer = self._timer, None
        if timer is not None and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self.flush()
