"""A meter's profile in the service: reading with it, learning from use, corrections.

The profile a meter is read with is the stored one, with what it leaves unknown
taken from the ``[[meters]]`` keys (``effective_profile``). Reading it goes through a
``ProfileReader`` kept per meter and rebuilt only when the profile changes.

References join a meter's profile from two places (docs/profiles.md, "Learning"):

- **Learning from use** (``learn``): a check whose reading passed the reader's gate
  *without* the references' help, was stored ``ok`` and agrees with the meter's
  history (a fall at a plausible rate since the last trusted reading; a rise is never
  learned), at most one per ``LEARN_EVERY`` so the set keeps variety.
- **A confirmed top-up** (``learn_topup``, heard on the event bus as ``notify``): the
  top-up's balance before and after, once it is ``confirmed`` (the keypad typed it
  and the display rose, or the display rose by a plausible credit) and the rise is
  at least ``MIN_CREDIT_KWH``: the photos of the two readings that showed those
  balances. A top-up shows digits the falling balance has not shown for a while.
- **The owner's correction** (``correct``): the last reading takes the owner's value
  (marked with source ``correction``), and its photo joins the references.

Every time the crop is cut in the profile's quad and ``profile_reader.enrol`` must
see the value in it (the gate's own sure reading for what the service learns; for
the owner's word also the network's guess where the gate is unsure), so a crop that
shows anything else never enters the references.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, replace
from datetime import timedelta

import ocr
from ocr.adapt import ENGINE as ADAPTED_ENGINE
from ocr.reading import Image, Quad
from tokenmeter.config import Config
from tokenmeter.domain import Reading, ReadingStatus, TopUp, TopUpStatus, utcnow
from tokenmeter.errors import TokenmeterError, UnknownMeter
from tokenmeter.events import Event, TopUpChanged
from tokenmeter.profile import (
    MeterProfile,
    ProfileError,
    ReferenceSource,
    effective_profile,
    parse_value,
)
from tokenmeter.profile_reader import Enrolled, EnrolRefused, ProfileReader, enrol, kept_photo
from tokenmeter.services.plausibility import judge
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

LEARN_EVERY = timedelta(hours=6)
"""Least time between two learned references of one meter (variety of light, digits)."""
MIN_CREDIT_KWH = 1.0
"""Least rise from a confirmed top-up's balance before to after that is learned."""
MAX_READERS = 64
"""Profile readers kept (one per meter and profile version; the oldest goes first)."""
CORRECTION_SOURCE = "correction"
"""``Reading.source`` of a reading whose value the owner corrected."""


class CorrectionRefused(TokenmeterError):
    """A correction that cannot be applied: ``reason`` is ``no_reading`` (nothing to
    correct) or ``bad_value`` (not a meter value)."""

    code = "correction_refused"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


@dataclass(frozen=True)
class Correction:
    """A corrected reading and what became of its photo."""

    reading: Reading  # the last reading, now with the owner's value
    was: str  # what it said before ("" when unreadable)
    refused: EnrolRefused | None = None  # why the photo did not join the references
    references: int = 0  # references of the meter's profile afterwards

    @property
    def added(self) -> bool:
        return self.refused is None


class ProfileService:
    """The meters' profiles for the check service and the doors."""

    def __init__(self, config: Config, store: Store, *, learn_every: timedelta = LEARN_EVERY):
        self.config = config
        self.store = store
        self.learn_every = learn_every
        self._learning: set[asyncio.Task[int]] = set()  # top-ups being learned from
        self._finished = False  # no new learning after ``finish``
        self._readers: dict[tuple[object, ...], ProfileReader] = {}
        self._lock = threading.Lock()  # one read-modify-write of a stored profile at a time

    # -- reading -----------------------------------------------------------------------
    def effective(self, meter_id: str) -> MeterProfile | None:
        """The profile ``meter_id`` is read with; None when it has none. Blocking."""
        configured = self.config.meter(meter_id).to_profile()  # raises UnknownMeter
        try:
            stored = self.store.get_profile(meter_id)
        except TokenmeterError as err:
            log.warning("profile of %s not readable from the store: %s", meter_id, err)
            stored = None
        return effective_profile(stored, configured)

    def read(self, image: Image, profile: MeterProfile) -> ocr.Reading:
        """``image`` read with ``profile``; a reader is built once per profile."""
        key = (
            profile.quad,
            profile.digits,
            profile.decimals,
            tuple(r.id for r in profile.references),
        )
        with self._lock:
            reader = self._readers.get(key)
            if reader is None:
                if len(self._readers) >= MAX_READERS:
                    self._readers.pop(next(iter(self._readers)))
                reader = self._readers[key] = ProfileReader(profile)
        return reader.read(image)

    # -- learning ----------------------------------------------------------------------
    def learn(
        self,
        profile: MeterProfile,
        image: Image,
        read: ocr.Reading,
        reading: Reading,
        previous: Reading | None,
    ) -> bool:
        """Add the checked photo as a ``learned`` reference when it may (see the module
        docstring); True when added. Blocking."""
        if not self.may_learn(profile, read, reading, previous):
            return False
        try:
            self._add(reading.meter_id, image, reading.text, "learned", sure=True)
        except EnrolRefused as err:
            log.info("reading %s of %s not learned: %s", reading.id, reading.meter_id, err)
            return False
        log.info("reading %s (%s) of %s learned", reading.id, reading.text, reading.meter_id)
        return True

    def may_learn(
        self,
        profile: MeterProfile,
        read: ocr.Reading,
        reading: Reading,
        previous: Reading | None,
    ) -> bool:
        """Whether a check's reading is trusted enough to become a reference."""
        if profile.quad is None or reading.status is not ReadingStatus.OK or reading.kwh is None:
            return False
        if read.status != "ok" or read.engine == ADAPTED_ENGINE or read.text != reading.text:
            return False  # only what the gate read alone
        if previous is None or previous.kwh is None or reading.kwh > previous.kwh:
            return False  # no history to agree with, or a rise (a top-up)
        limit = self.config.checks.max_kwh_per_hour
        if not judge(reading.kwh, reading.ts, previous, max_kwh_per_hour=limit).plausible:
            return False
        learned = [r.ts for r in profile.references if r.source == "learned"]
        return not learned or reading.ts - max(learned) >= self.learn_every

    async def notify(self, event: Event) -> None:
        """Learn from a top-up once it is confirmed (the service's event bus), in the
        background: the bus waits for its notifiers, and the top-up must not wait for
        photos to be read and a profile written."""
        if self._finished:
            return
        if isinstance(event, TopUpChanged) and event.topup.status is TopUpStatus.CONFIRMED:
            task = asyncio.create_task(asyncio.to_thread(self.learn_topup, event.topup))
            self._learning.add(task)
            task.add_done_callback(self._learned)

    def _learned(self, task: asyncio.Task[int]) -> None:
        self._learning.discard(task)
        if not task.cancelled() and (err := task.exception()) is not None:
            log.warning("learning from a top-up failed: %s", err)

    async def finish(self) -> None:
        """Let learning under way end (a top-up confirmed just before a stop) and start
        no more; the service calls it before it closes the store."""
        self._finished = True
        if self._learning:
            await asyncio.gather(*self._learning, return_exceptions=True)

    def learn_topup(self, topup: TopUp) -> int:
        """Add the photos of a confirmed top-up's readings before and after as ``learned``
        references when the gate reads each value in the profile's quad; the number
        added. Blocking; a store or photo that fails is logged, never raised."""
        before, after = topup.before, topup.after
        if topup.status is not TopUpStatus.CONFIRMED or before is None or after is None:
            return 0
        if after - before < MIN_CREDIT_KWH:
            return 0
        try:
            profile = self.effective(topup.meter_id)
            if profile is None or profile.quad is None:
                return 0
            readings = self.store.readings_between(topup.meter_id, topup.ts, utcnow())
        except TokenmeterError as err:
            log.info("top-up %s of %s not learned: %s", topup.id, topup.meter_id, err)
            return 0
        added = 0
        for kwh in (before, after):
            shown = [r for r in readings if r.status is ReadingStatus.OK and r.kwh == kwh]
            if not shown or any(  # learned from that check already
                r.text == shown[-1].text and r.ts >= shown[-1].ts for r in profile.references
            ):
                continue
            image = kept_photo(shown[-1].photo)
            if image is None:
                continue
            try:
                self._add(topup.meter_id, image, shown[-1].text, "learned", sure=True)
            except (EnrolRefused, TokenmeterError) as err:
                log.info("reading %s of top-up %s not learned: %s", shown[-1].id, topup.id, err)
                continue
            added += 1
        log.info("top-up %s of %s: %d reading(s) learned", topup.id, topup.meter_id, added)
        return added

    # -- the owner's word --------------------------------------------------------------
    def correct(self, meter_id: str, value: str) -> Correction:
        """Give the last reading of ``meter_id`` the owner's ``value`` and add its photo
        as a ``correction`` reference when the photo shows it. Blocking."""
        self.config.meter(meter_id)  # raises UnknownMeter
        try:
            text = parse_value(value)
        except ProfileError as err:
            raise CorrectionRefused("bad_value", str(err)) from err
        last = self.store.latest_reading(meter_id)
        if last is None:
            raise CorrectionRefused("no_reading")
        corrected = replace(
            last,
            kwh=float(text),
            text=text,
            confidence=1.0,
            source=CORRECTION_SOURCE,
            status=ReadingStatus.OK,
            error="",
        )
        self.store.add_reading(corrected)  # same id: the history's entry is replaced
        log.info("reading %s of %s corrected: %r -> %s", last.id, meter_id, last.text, text)
        image = kept_photo(last.photo)
        if image is None:
            refused = EnrolRefused("no_photo", last.photo)
            return Correction(corrected, last.text, refused, self._count(meter_id))
        try:
            enrolled = self._add(meter_id, image, text, "correction", sure=False)
        except EnrolRefused as err:
            return Correction(corrected, last.text, err, self._count(meter_id))
        return Correction(corrected, last.text, None, len(enrolled.profile.references))

    def enrol(
        self,
        meter_id: str,
        image: Image,
        value: str,
        *,
        roi: Quad | None = None,
        flash: bool | None = None,
    ) -> Enrolled:
        """Enrol a confirmed photo of ``meter_id`` (camera setup), taken with the flash
        as ``flash`` says (stored in the profile when given); raise ``EnrolRefused``
        or ``ProfileError``. Blocking."""
        self.config.meter(meter_id)  # raises UnknownMeter
        text = parse_value(value)
        return self._add(meter_id, image, text, "enrol", sure=False, roi=roi, flash=flash)

    def _add(
        self,
        meter_id: str,
        image: Image,
        text: str,
        source: ReferenceSource,
        *,
        sure: bool,
        roi: Quad | None = None,
        flash: bool | None = None,
    ) -> Enrolled:
        """Enrol into the stored profile (what it leaves unknown from the config) and
        store it; ``sure`` requires the gate itself to read ``text``."""
        with self._lock:
            base = self.effective(meter_id) or MeterProfile()
            if flash is not None:
                base = replace(base, flash=flash)
            enrolled = enrol(base, image, text, roi=roi, source=source)
            if sure and enrolled.seen != text:
                raise EnrolRefused("value_mismatch", enrolled.seen)
            self.store.put_profile(meter_id, enrolled.profile)
        return enrolled

    def _count(self, meter_id: str) -> int:
        try:
            profile = self.effective(meter_id)
        except UnknownMeter:
            return 0
        return len(profile.references) if profile else 0
