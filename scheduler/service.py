"""Scheduled automatic checks: one APScheduler cron job per meter and local time.

The store is the truth. Schedules are loaded at start-up and followed live through
``Store.watch_schedules``; a change touches only that meter's jobs. Every run first
claims its slot occurrence in the store (compare-and-set), so a slot runs once
however many triggers (job, start-up catch-up, the ESP32's RTC, a second service
instance) race for it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Collection, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from scheduler.rtc import RtcBridge
from scheduler.slots import (
    DEFAULT_TIMEZONE,
    due_runs,
    job_id,
    latest_run,
    previous_occurrence,
    resolve_timezone,
    slot_trigger,
)
from tokenmeter.config import Config
from tokenmeter.devices.mqtt import MqttLink
from tokenmeter.domain import ReadingStatus, Schedule, utcnow
from tokenmeter.errors import TokenmeterError
from tokenmeter.events import CheckOutcome
from tokenmeter.services.api import Checker
from tokenmeter.store.base import Store, Subscription

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

SOURCE_SCHEDULE = "schedule"
SOURCE_RTC = "rtc"
# A job never fires before its time, but an injected clock may lag APScheduler's.
_EARLY_TOLERANCE = timedelta(seconds=5)
# A trigger this soon after its slot is the slot firing (APScheduler a little late on a
# busy loop, a device clock a little behind), not a catch-up: it runs whatever the
# grace period, which only bounds catching up on slots missed while down.
ON_TIME = timedelta(minutes=2)


@dataclass
class _MeterJobs:
    """What is scheduled for one meter: the last good schedule and its triggers."""

    schedule: Schedule
    timezone: str
    triggers: dict[str, CronTrigger] = field(default_factory=dict)


class CheckScheduler:
    """Runs each meter's checks at its local schedule times, exactly once per slot."""

    def __init__(
        self,
        store: Store,
        checker: Checker,
        *,
        mqtt: MqttLink | None = None,
        grace: timedelta = timedelta(minutes=30),
        instance_id: str,
        clock: Clock | None = None,
        default_timezone: str = DEFAULT_TIMEZONE,
        timezones: Mapping[str, str] | None = None,
        rtc_lead: timedelta = timedelta(minutes=2),
        meters: Collection[str] | None = None,
    ) -> None:
        """``meters``: the configured meter ids, the only ones scheduled (None = every
        meter in the store). A meter only in the store is reported once, not run."""
        self._store = store
        self._checker = checker
        self._mqtt = mqtt
        self._grace = grace
        self._on_time = max(grace, ON_TIME)
        self._instance_id = instance_id
        self._clock: Clock = clock or utcnow
        self._default_timezone = default_timezone
        self._timezones = dict(timezones or {})
        self._rtc_lead = rtc_lead
        self._configured = frozenset(meters) if meters is not None else None
        self._unconfigured: set[str] = set()  # reported already
        self._meters: dict[str, _MeterJobs] = {}
        self._pending: dict[str, Schedule | None] = {}
        self._flush_task: asyncio.Task[None] | None = None
        self._in_flight: dict[str, asyncio.Task[CheckOutcome | None]] = {}
        self._running_slots = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._aps: AsyncIOScheduler | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscription: Subscription | None = None
        self._rtc: RtcBridge | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        store: Store,
        checker: Checker,
        *,
        mqtt: MqttLink | None = None,
        clock: Clock | None = None,
    ) -> CheckScheduler:
        """Build with the grace period, instance id and meter timezones of ``config``."""
        return cls(
            store,
            checker,
            mqtt=mqtt,
            grace=timedelta(minutes=config.checks.grace_minutes),
            instance_id=config.service.instance_id or socket.gethostname(),
            clock=clock,
            timezones={meter.id: meter.timezone for meter in config.meters},
            meters=[meter.id for meter in config.meters],
        )

    # -- lifecycle ------------------------------------------------------------
    @property
    def apscheduler(self) -> AsyncIOScheduler:
        """The running APScheduler (its jobs carry ids ``check:{meter}:{HH:MM}``)."""
        if self._aps is None:
            raise RuntimeError("CheckScheduler is not started")
        return self._aps

    async def start(self, *, catch_up: bool = True) -> None:
        """Load every schedule, follow changes, and run slots missed while down."""
        if self._aps is not None:
            return
        self._loop = asyncio.get_running_loop()
        misfire = int(self._on_time.total_seconds())
        self._aps = AsyncIOScheduler(
            event_loop=self._loop,
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire},
        )
        self._aps.start()
        if self._mqtt is not None:
            self._rtc = RtcBridge(self._mqtt, self._loop, self.rtc_trigger)
            self._rtc.start()
        self.apply_schedules(await asyncio.to_thread(self._load_schedules))
        self._subscription = await asyncio.to_thread(
            self._store.watch_schedules, self._on_store_change
        )
        log.info("scheduler started: %d meters, %d jobs", len(self._meters), self.job_count())
        if catch_up:
            self._spawn(self.run_missed())

    async def stop(self) -> None:
        """Stop following the store, remove every job and cancel running checks."""
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await asyncio.to_thread(subscription.close)
        if self._rtc is not None:
            self._rtc.stop()
            self._rtc = None
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the next loop turn
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._aps = None
        self._loop = None
        self._meters.clear()  # a later start() schedules everything afresh
        self._unconfigured.clear()
        self._pending.clear()
        self._in_flight.clear()

    async def wait_idle(self) -> None:
        """Wait until start-up catch-up, schedule reloads and checks have finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- schedules --------------------------------------------------------------
    def slots(self, meter_id: str) -> tuple[str, ...]:
        """The slots that have a job now, sorted."""
        state = self._meters.get(meter_id)
        return tuple(sorted(state.triggers)) if state else ()

    def job_count(self) -> int:
        return sum(len(state.triggers) for state in self._meters.values())

    def apply_schedule(self, meter_id: str, schedule: Schedule | None, timezone: str) -> None:
        """Make ``meter_id``'s jobs match ``schedule`` (on the loop; adds/removes the diff).

        ``None`` (removed or malformed in the store) is reported and the last good
        schedule kept.
        """
        self.apply_schedules([(meter_id, schedule, timezone)])

    def apply_schedules(self, changes: Iterable[tuple[str, Schedule | None, str]]) -> None:
        """``apply_schedule`` for several meters, with one scheduler wake-up."""
        batch = list(changes)
        aps = self.apscheduler
        if len(batch) > 1:
            aps.pause()  # no wake-up per added job; resume() wakes it once
        try:
            for meter_id, schedule, timezone in batch:
                try:
                    self._apply_one(meter_id, schedule, timezone)
                except Exception:
                    log.exception("could not schedule meter %s", meter_id)
        finally:
            if len(batch) > 1:
                aps.resume()

    def _apply_one(self, meter_id: str, schedule: Schedule | None, timezone: str) -> None:
        if self._configured is not None and meter_id not in self._configured:
            self._skip_unconfigured(meter_id, schedule)
            return
        current = self._meters.get(meter_id)
        if schedule is None:
            if current is not None:
                log.warning(
                    "schedule of meter %s is missing or malformed in the store; "
                    "keeping the last good one %s",
                    meter_id,
                    ",".join(current.schedule.times) or "(none)",
                )
            return
        zone = resolve_timezone(timezone, self._default_timezone)
        if current and current.schedule == schedule and current.timezone == zone.key:
            return
        state = current or _MeterJobs(schedule, zone.key)
        if current is not None and current.timezone != zone.key:
            self._remove_jobs(meter_id, state, set(state.triggers))
        wanted = set(schedule.times) if schedule.enabled else set()
        self._remove_jobs(meter_id, state, set(state.triggers) - wanted)
        for slot in sorted(wanted - set(state.triggers)):
            trigger = slot_trigger(slot, zone)
            self.apscheduler.add_job(
                self._run_job,
                trigger=trigger,
                args=(meter_id, slot),
                id=job_id(meter_id, slot),
                name=f"check {meter_id} at {slot} {zone.key}",
                replace_existing=True,
            )
            state.triggers[slot] = trigger
        state.schedule, state.timezone = schedule, zone.key
        self._meters[meter_id] = state
        log.info(
            "meter %s checks %s at %s (%s)",
            meter_id,
            "enabled" if schedule.enabled else "disabled",
            ",".join(schedule.times) or "(no times)",
            zone.key,
        )
        if self._rtc is not None:
            self._rtc.publish_schedule(meter_id, schedule, zone.key)

    def _skip_unconfigured(self, meter_id: str, schedule: Schedule | None) -> None:
        """A schedule in the store of a meter not in the config: never run (its checks
        could only fail); said once while it has times to run."""
        if schedule is None or not (schedule.enabled and schedule.times):
            return
        if meter_id in self._unconfigured:
            return
        self._unconfigured.add(meter_id)
        log.warning(
            "meter %s is in the store but not in the config: its checks at %s are not run "
            "(to drop them: tokenmeter schedule remove --meter %s)",
            meter_id,
            ",".join(schedule.times),
            meter_id,
        )

    def _remove_jobs(self, meter_id: str, state: _MeterJobs, slots: set[str]) -> None:
        for slot in slots:
            self.apscheduler.remove_job(job_id(meter_id, slot))
            del state.triggers[slot]

    def _load_schedules(self) -> list[tuple[str, Schedule | None, str]]:
        """(store thread) Every configured meter's schedule and timezone."""
        loaded = []
        for meter in self._store.list_meters():
            schedule = self._store.get_schedule(meter.id)
            if schedule is None:
                log.info("meter %s has no schedule in the store", meter.id)
            loaded.append((meter.id, schedule, meter.timezone))
        return loaded

    def _timezones_of(self, meter_ids: list[str]) -> dict[str, str]:
        """(store thread) Each meter's timezone from the store, else the config's."""
        zones = {}
        for meter_id in meter_ids:
            meter = self._store.get_meter(meter_id)
            zones[meter_id] = (
                meter.timezone
                if meter is not None
                else self._timezones.get(meter_id, self._default_timezone)
            )
        return zones

    def _on_store_change(self, meter_id: str, schedule: Schedule | None) -> None:
        """(store thread) Hand a schedule change over to the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._schedule_changed, meter_id, schedule)
        except RuntimeError:
            log.debug("schedule change of %s after the loop closed", meter_id)

    def _schedule_changed(self, meter_id: str, schedule: Schedule | None) -> None:
        """Queue a change; one flush applies every change queued meanwhile."""
        if self._aps is None:
            return
        if schedule is not None or meter_id not in self._pending:
            self._pending[meter_id] = schedule  # a malformed one never hides a good one
        if self._flush_task is None or self._flush_task.done():
            self._flush_task = self._spawn(self._flush_changes())

    async def _flush_changes(self) -> None:
        await asyncio.sleep(0)  # let the rest of a burst of changes arrive
        while self._pending and self._aps is not None:
            batch, self._pending = self._pending, {}
            good = [meter_id for meter_id, schedule in batch.items() if schedule is not None]
            try:
                zones = await asyncio.to_thread(self._timezones_of, good)
            except Exception:
                log.exception("could not read meters' timezones; keeping the known ones")
                zones = {}
            if self._aps is None:
                return
            self.apply_schedules(
                (meter_id, schedule, zones.get(meter_id) or self._known_timezone(meter_id))
                for meter_id, schedule in batch.items()
            )

    def _known_timezone(self, meter_id: str) -> str:
        state = self._meters.get(meter_id)
        if state is not None:
            return state.timezone
        return self._timezones.get(meter_id, self._default_timezone)

    # -- runs -----------------------------------------------------------------
    async def _run_job(self, meter_id: str, slot: str) -> None:
        """The APScheduler job: run the slot occurrence that has just come."""
        await self.run_slot(meter_id, slot)

    async def run_slot(
        self,
        meter_id: str,
        slot: str,
        occurrence: datetime | None = None,
        *,
        source: str = SOURCE_SCHEDULE,
        catch_up: bool = False,
    ) -> bool:
        """Claim one occurrence of a slot and check the meter; False when not run.

        ``occurrence`` defaults to the slot's most recent one. Not run when another
        trigger/instance claimed it first, or when it is too old: older than the grace
        period for a ``catch_up`` of a slot missed while down, older than
        ``max(grace, ON_TIME)`` for a trigger at the slot time (the job, the RTC).
        """
        self._running_slots += 1
        try:
            return await self._run_slot(meter_id, slot, occurrence, source, catch_up)
        finally:
            self._running_slots -= 1

    @property
    def slots_running(self) -> int:
        """Slot runs in progress (claiming or checking); a slot summary waits for 0."""
        return self._running_slots

    async def _run_slot(
        self, meter_id: str, slot: str, occurrence: datetime | None, source: str, catch_up: bool
    ) -> bool:
        now = self._clock()
        if occurrence is None:
            state = self._meters.get(meter_id)
            trigger = state.triggers.get(slot) if state else None
            if trigger is None:
                log.warning("meter %s has no slot %s scheduled; not run", meter_id, slot)
                return False
            occurrence = previous_occurrence(trigger, now + _EARLY_TOLERANCE)
        if now - occurrence > (self._grace if catch_up else self._on_time):
            log.warning(
                "meter %s slot %s of %s is past the grace period; skipped",
                meter_id,
                slot,
                occurrence.isoformat(),
            )
            return False
        try:
            won = await asyncio.to_thread(
                self._store.claim_slot, meter_id, slot, occurrence, self._instance_id
            )
        except Exception:
            log.exception("could not claim meter %s slot %s; not run", meter_id, slot)
            return False
        if not won:
            log.info(
                "meter %s slot %s of %s already run; %s trigger ignored",
                meter_id,
                slot,
                occurrence.isoformat(),
                source,
            )
            return False
        log.info("meter %s slot %s of %s: checking (%s)", meter_id, slot, occurrence, source)
        await self._check_coalesced(meter_id, source)
        return True

    async def rtc_trigger(self, meter_id: str, rtc: str = "") -> bool:
        """The device's RTC says a slot is due: run its latest slot unless already run."""
        state = self._meters.get(meter_id)
        if state is None or not state.triggers:
            log.info("RTC trigger from %s (rtc %s) ignored: no active schedule", meter_id, rtc)
            return False
        run = latest_run(
            meter_id, state.triggers.items(), self._clock(), self._on_time, self._rtc_lead
        )
        if run is None:
            log.info("RTC trigger from %s (rtc %s) ignored: no slot is due", meter_id, rtc)
            return False
        return await self.run_slot(meter_id, run.slot, run.occurrence, source=SOURCE_RTC)

    async def run_missed(self) -> int:
        """Run each slot whose latest occurrence is within the grace period and not yet
        claimed (a slot missed while the service was down). Returns how many ran."""
        now = self._clock()
        runs = [
            run
            for meter_id, state in list(self._meters.items())
            for run in due_runs(meter_id, state.triggers.items(), now, self._grace)
        ]
        if runs:
            log.info("start-up: %d slot(s) within the grace period to catch up", len(runs))
        results = await asyncio.gather(
            *(self.run_slot(run.meter_id, run.slot, run.occurrence, catch_up=True) for run in runs)
        )
        return sum(results)

    async def _check_coalesced(self, meter_id: str, source: str) -> CheckOutcome | None:
        """Check the meter, or join the check of it already running."""
        running = self._in_flight.get(meter_id)
        if running is not None and not running.done():
            log.info("meter %s is being checked already; %s run joins it", meter_id, source)
            return await asyncio.shield(running)
        task = self._spawn(self._check(meter_id, source))
        self._in_flight[meter_id] = task
        try:
            return await asyncio.shield(task)
        finally:
            if self._in_flight.get(meter_id) is task and task.done():
                del self._in_flight[meter_id]

    async def _check(self, meter_id: str, source: str) -> CheckOutcome | None:
        try:
            outcome = await self._checker.check(meter_id, source)
        except TokenmeterError as err:
            log.warning("scheduled check of meter %s failed: %s (%s)", meter_id, err.code, err)
            return None
        except Exception:
            log.exception("scheduled check of meter %s failed", meter_id)
            return None
        reading = outcome.reading
        if reading.status is ReadingStatus.OK:
            log.info("meter %s checked (%s): %s kWh", meter_id, source, reading.kwh)
        else:
            log.warning(
                "meter %s check (%s) ended %s %s", meter_id, source, reading.status, reading.error
            )
        return outcome

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
