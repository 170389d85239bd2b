"""The check service: photograph a meter, read it, judge it, store it, tell people.

Snapshot → ``read_display`` (on a reader thread) → plausibility (an implausible read is
retaken once, then stored ``unverified``) → reading + photo stored → ``CheckCompleted``
(and ``LowBalance`` once per crossing under ``low_kwh``). Failures are stored with
their error code and published like any outcome; a number is never invented.

A meter with a profile (docs/profiles.md) is read with it, by ``profile_reader``,
inside its quad and with its references; the others by ``reader``. A checked photo
that the gate read alone and that agrees with the history may join the profile's
references (``ProfileService.learn``).

Concurrent checks of one meter coalesce onto the one already running; checks of
different meters run at most ``config.checks.concurrency`` at a time.

Displays are read on a pool of their own, ``reader_threads`` big: each thread that
reads keeps its own copy of the network (about 8 MB with its buffers), and reading is
CPU-bound, so more threads than checks at once or CPU cores would only cost memory
(the loop's default executor, sized by the CPU count, would hold a copy per thread).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import ocr
from ocr.reading import Image
from tokenmeter.config import Config
from tokenmeter.devices.camera import CameraClient, Snapshot
from tokenmeter.domain import Meter, Reading, ReadingStatus, TopUpStatus, new_id, utcnow
from tokenmeter.errors import CameraUnavailable, StoreUnavailable, TokenmeterError
from tokenmeter.events import CheckCompleted, CheckOutcome, EventBus, LowBalance
from tokenmeter.profile import MeterProfile, flash_of
from tokenmeter.services.photos import PhotoKeeper
from tokenmeter.services.plausibility import judge
from tokenmeter.services.profiles import ProfileService
from tokenmeter.services.usage import days_left, kwh_per_day
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

DisplayReader = Callable[[Image], ocr.Reading]
ProfileDisplayReader = Callable[[Image, MeterProfile], ocr.Reading]
HISTORY = 200  # readings looked at for the previous value and the usage rate
USAGE_WINDOW = timedelta(days=7)
SCHEDULED_SOURCES = frozenset({"schedule", "rtc"})  # checks nobody asked for right now
T = TypeVar("T")


def reader_threads(concurrency: int, cpus: int | None = None) -> int:
    """Threads that read displays: no more than the checks at once or the CPU cores."""
    return max(1, min(concurrency, cpus or os.cpu_count() or 1))


@dataclass(frozen=True)
class _Shot:
    """One photo and what was read from it."""

    snapshot: Snapshot | None
    read: ocr.Reading | None
    error: str = ""  # error code when there is no photo


def _read_display(image: Image) -> ocr.Reading:
    return ocr.read_display(image)


class CheckService:
    """Implements ``tokenmeter.services.api.Checker``."""

    def __init__(
        self,
        config: Config,
        store: Store,
        camera: CameraClient,
        bus: EventBus,
        *,
        reader: DisplayReader = _read_display,
        profiles: ProfileService | None = None,
        profile_reader: ProfileDisplayReader | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.camera = camera
        self.bus = bus
        self.reader = reader
        self.profiles = profiles or ProfileService(config, store)
        self.profile_reader = profile_reader or self.profiles.read
        bus.subscribe(self.profiles)  # profiles learn from confirmed top-ups
        self.photos = PhotoKeeper(
            config.store.photo_dir, config.store.photos_keep, config.store.photos_max_days
        )
        self._slots = asyncio.Semaphore(config.checks.concurrency)
        self._readers = ThreadPoolExecutor(
            reader_threads(config.checks.concurrency), thread_name_prefix="read-display"
        )
        self._locks: dict[str, asyncio.Lock] = {}
        self._inflight: dict[str, asyncio.Future[CheckOutcome]] = {}
        self._recent: dict[str, list[Reading]] = {}  # the history while the store is away

    async def finish(self) -> None:
        """Cancel the checks under way (a stop does not wait for a camera) and wait for
        the display a reader thread is reading; the service calls it before it closes
        the store, so that nothing is written to a closed store."""
        running = [task for task in self._inflight.values() if not task.done()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await asyncio.to_thread(self._readers.shutdown, wait=True, cancel_futures=True)

    async def _on_reader(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` on a reader thread (it may read a display)."""
        return await asyncio.get_running_loop().run_in_executor(self._readers, work, *args)

    async def current_meter(self, meter_id: str) -> Meter:
        """The configured meter with the store's settings (``/batas`` writes ``low_kwh``)."""
        meter = self.config.meter(meter_id).to_meter()  # raises UnknownMeter
        try:
            stored = await asyncio.to_thread(self.store.get_meter, meter.id)
        except TokenmeterError:
            stored = None
        return replace(meter, low_kwh=stored.low_kwh) if stored is not None else meter

    async def check(
        self,
        meter_id: str,
        source: str,
        *,
        scheduled: bool = False,
        fresh: bool = False,
        allow_rise: bool = False,
    ) -> CheckOutcome:
        """Check a meter now (see ``Checker.check``).

        ``fresh`` waits for a running check to end and takes a new photo instead of
        sharing its result; ``allow_rise`` accepts a higher balance (after a top-up).
        """
        meter = await self.current_meter(meter_id)
        scheduled = scheduled or source in SCHEDULED_SOURCES
        running = self._inflight.get(meter.id)
        if running is not None and not running.done() and not fresh:
            return await asyncio.shield(running)
        task = asyncio.ensure_future(self._locked(meter, source, scheduled, allow_rise))
        self._inflight[meter.id] = task

        def _forget(done: asyncio.Future[CheckOutcome]) -> None:
            if self._inflight.get(meter.id) is done:
                del self._inflight[meter.id]

        task.add_done_callback(_forget)
        return await asyncio.shield(task)

    async def _locked(
        self, meter: Meter, source: str, scheduled: bool, allow_rise: bool
    ) -> CheckOutcome:
        async with self._locks.setdefault(meter.id, asyncio.Lock()):
            return await self._run(meter, source, scheduled, allow_rise)

    # -- one check ------------------------------------------------------------
    async def _run(
        self, meter: Meter, source: str, scheduled: bool, allow_rise: bool
    ) -> CheckOutcome:
        history = await self._history(meter.id)
        trusted = [r for r in history if r.status is ReadingStatus.OK and r.kwh is not None]
        previous = trusted[-1] if trusted else None
        doubtful = [
            r
            for r in history
            if r.status is ReadingStatus.UNVERIFIED
            and r.kwh is not None
            and (previous is None or r.ts > previous.ts)
        ]
        if not allow_rise and previous is not None:
            allow_rise = await asyncio.to_thread(self._typed_since, meter.id, previous.ts)
        profile = await asyncio.to_thread(self.profiles.effective, meter.id)
        async with self._slots:
            reading, shot = await self._take_and_judge(
                meter, source, previous, doubtful[-1] if doubtful else None, allow_rise, profile
            )
        jpeg = shot.snapshot.jpeg if shot.snapshot is not None else None
        if jpeg is not None:
            path = await asyncio.to_thread(self.photos.save, meter.id, reading.id, jpeg)
            reading = replace(reading, photo=path)
        await asyncio.to_thread(self.store.add_reading, reading)  # queued if the store is away
        self._recent[meter.id] = [*history, reading][-HISTORY:]
        if profile is not None and shot.snapshot is not None and shot.read is not None:
            await self._learn(profile, shot.snapshot.image, shot.read, reading, previous)
        outcome = self._outcome(meter, reading, jpeg, previous, trusted)
        log.info(
            "check of %s (%s): %s %s",
            meter.id,
            source,
            reading.status.value,
            reading.kwh if reading.kwh is not None else reading.error,
        )
        await self.bus.publish(CheckCompleted(outcome, scheduled=scheduled))
        if outcome.low and (previous is None or (previous.kwh or 0) >= meter.low_kwh):
            await self.bus.publish(LowBalance(outcome))
        return outcome

    async def _history(self, meter_id: str) -> list[Reading]:
        """The meter's last readings; the last ones known here while the store is away
        (the check still runs, and its reading waits in the store's outbox)."""
        try:
            history = await asyncio.to_thread(self.store.last_readings, meter_id, HISTORY)
        except StoreUnavailable as err:
            log.info("history of %s from memory: %s", meter_id, err)
            return self._recent.get(meter_id, [])
        self._recent[meter_id] = history
        return history

    async def _take_and_judge(
        self,
        meter: Meter,
        source: str,
        previous: Reading | None,
        doubtful: Reading | None,
        allow_rise: bool,
        profile: MeterProfile | None,
    ) -> tuple[Reading, _Shot]:
        limit = self.config.checks.max_kwh_per_hour
        first = await self._shoot(meter, profile)
        shot, status, error = first, ReadingStatus.OK, ""
        kwh = first.read.value if first.read is not None and first.read.status == "ok" else None
        if kwh is not None:
            now = utcnow()
            verdict = judge(kwh, now, previous, max_kwh_per_hour=limit, rise_allowed=allow_rise)
            if not verdict.plausible and doubtful is not None:
                # A second independent read agreeing with the last unverified one
                # (a top-up typed by hand, say) makes it the new truth.
                verdict = judge(kwh, now, doubtful, max_kwh_per_hour=limit)
            if not verdict.plausible:
                log.warning("implausible read of %s (%s); retaking", meter.id, verdict.reason)
                second = await self._shoot(meter, profile)
                value = second.read.value if second.read and second.read.status == "ok" else None
                if value is not None:
                    shot, kwh = second, value
                    verdict = judge(
                        value, utcnow(), previous, max_kwh_per_hour=limit, rise_allowed=allow_rise
                    )
                if not verdict.plausible:
                    status, error = ReadingStatus.UNVERIFIED, f"implausible_{verdict.reason}"
        elif first.snapshot is None:
            status, error = ReadingStatus.CAMERA_ERROR, first.error
        else:
            status, error = ReadingStatus.UNREADABLE, "unreadable"
        read = shot.read
        reading = Reading(
            id=new_id("r"),
            meter_id=meter.id,
            ts=utcnow(),
            kwh=kwh,
            text=read.text if read is not None else "",
            confidence=read.confidence if read is not None else 0.0,
            source=source,
            status=status,
            error=error,
        )
        return reading, shot

    async def _shoot(self, meter: Meter, profile: MeterProfile | None) -> _Shot:
        try:
            snapshot = await self.camera.snapshot(meter, flash=flash_of(profile))
        except CameraUnavailable as err:
            log.warning("camera of %s unavailable: %s", meter.id, err.detail)
            return _Shot(None, None, err.reading_error)
        try:
            if profile is None:
                read = await self._on_reader(self.reader, snapshot.image)
            else:
                read = await self._on_reader(self.profile_reader, snapshot.image, profile)
        except Exception:
            log.exception("reading the display of %s failed", meter.id)
            read = ocr.Reading(status="unreadable", value=None, text="", confidence=0.0)
        return _Shot(snapshot, read)

    async def _learn(
        self,
        profile: MeterProfile,
        image: Image,
        read: ocr.Reading,
        reading: Reading,
        previous: Reading | None,
    ) -> None:
        """Let the profile learn from this check; a failure is logged, never raised."""
        try:
            await self._on_reader(self.profiles.learn, profile, image, read, reading, previous)
        except Exception:
            log.exception("learning from reading %s of %s failed", reading.id, reading.meter_id)

    def _typed_since(self, meter_id: str, since: datetime) -> bool:
        """Whether a token was typed on this meter since ``since`` (so a rise is fine)."""
        typed = frozenset({TopUpStatus.SENT, TopUpStatus.CONFIRMED, TopUpStatus.UNCONFIRMED})
        try:
            topups = self.store.list_topups(meter_id, typed, last=10)
        except StoreUnavailable:
            return False  # top-ups are refused while the store is away
        for topup in topups:
            if topup.status is TopUpStatus.SENT:
                return True
            if any(c.status is TopUpStatus.SENT and c.ts >= since for c in topup.history):
                return True
        return False

    # -- figures --------------------------------------------------------------
    def _outcome(
        self,
        meter: Meter,
        reading: Reading,
        jpeg: bytes | None,
        previous: Reading | None,
        trusted: list[Reading],
    ) -> CheckOutcome:
        if reading.status is not ReadingStatus.OK or reading.kwh is None:
            return CheckOutcome(meter, reading, photo=jpeg, previous=previous)
        change = None
        if previous is not None and previous.kwh is not None:
            change = round(reading.kwh - previous.kwh, 2)
        recent = [r for r in trusted if r.ts >= reading.ts - USAGE_WINDOW] + [reading]
        per_day = kwh_per_day(recent)
        return CheckOutcome(
            meter,
            reading,
            photo=jpeg,
            previous=previous,
            change_kwh=change,
            kwh_per_day=per_day,
            days_left=days_left(reading.kwh, per_day),
            low=reading.kwh < meter.low_kwh,
        )
