"""The running service: the core plus the scheduler, the doors, ``/healthz`` and the
socket on which ``tokenmeter topup`` hands its top-ups over (``tokenmeter.handoff``).

``build_service(config)`` wires everything on top of ``tokenmeter.app.build_core``;
``await service.run(stop)`` starts it on the running loop, waits for ``stop`` (set by
SIGINT/SIGTERM in ``tokenmeter serve``) and stops it in reverse order within a few
seconds. Nothing outside the machine is needed to start: a broker, Firebase, a
camera or Telegram that is away is reported once and retried, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scheduler.service import CheckScheduler
from tokenmeter.app import Core, SimOptions, build_core
from tokenmeter.config import Config
from tokenmeter.console import ConsoleNotifier
from tokenmeter.domain import ReadingStatus, Schedule
from tokenmeter.errors import StoreUnavailable
from tokenmeter.events import CheckCompleted, Event, Notifier, NotifierQueue
from tokenmeter.handoff import TopUpHandoff
from tokenmeter.health import HealthServer
from tokenmeter.services.camera_setup import CameraSetup
from tokenmeter.slot_summary import SlotBatcher
from tokenmeter.store.factory import seed_store

log = logging.getLogger(__name__)

STOP_BUDGET_S = 4.5  # SIGTERM to exit within 5 s
STORE_PROBE_EVERY_S = 15.0
STORE_RETRY_EVERY_S = 3.0
STORE_PROBE_TIMEOUT_S = 10.0
TELEGRAM_RETRY_S = (2.0, 5.0, 15.0, 30.0, 60.0)
TELEGRAM_SEND_LIMIT_S = 45.0  # one notification (all its sends) past this is dropped
TELEGRAM_DRAIN_S = 1.0  # at shutdown, for notifications still waiting
CORE_LINKS = ("mqtt", "store", "scheduler")


@dataclass
class CameraStates:
    """A notifier that remembers each meter's last check result (for ``/healthz``)."""

    last: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def notify(self, event: Event) -> None:
        if isinstance(event, CheckCompleted):
            reading = event.outcome.reading
            self.last[event.outcome.meter.id] = {
                "ok": reading.status is not ReadingStatus.CAMERA_ERROR,
                "last_check": reading.status.value,
                "at": reading.ts.isoformat(),
            }


class TelegramDoor:
    """The Telegram bot on the service's loop; started in the background and retried.

    Its notifications go through their own queue (``NotifierQueue``), so a Bot API that
    is slow or hangs never holds up a check or a top-up. Its health is the updater
    running and the last polls answered (``bot.telegram.polling``)."""

    def __init__(self, core: Core, *, busy: Callable[[], bool] | None = None) -> None:
        from bot.telegram import TelegramDeps, TelegramNotifier, build_application
        from bot.telegram.polling import polling_watch

        deps = TelegramDeps(
            store=core.store,
            checker=core.checks,
            topups=core.topups,
            meters=[meter.to_meter() for meter in core.config.meters],
            tariff_rp_per_kwh=core.config.billing.tariff_rp_per_kwh,
            profiles=core.checks.profiles,  # /koreksi: the profiles checks read with
            camera_setup=CameraSetup(core.checks),  # /atur
            people=core.config.people,  # with telegram.allowed_chats and the store's
        )
        self.application = build_application(core.config.telegram, deps)
        self.notifier = TelegramNotifier(self.application)
        self.queue = NotifierQueue(
            self.notifier, name="telegram notifications", timeout_s=TELEGRAM_SEND_LIMIT_S
        )
        self.batcher = slot_batcher(core.config, self.queue, busy)
        self.watch = polling_watch(self.application)
        self.bus = core.bus
        self._task: asyncio.Task[None] | None = None
        self.attempts = 0
        self.last_error = ""

    @property
    def polling(self) -> bool:
        updater = self.application.updater
        return bool(self.application.running and updater is not None and updater.running)

    async def start(self) -> None:
        self.queue.start()
        self.bus.subscribe(self.batcher)
        self._task = asyncio.create_task(self._keep_starting(), name="telegram-start")

    async def _keep_starting(self) -> None:
        from bot.telegram import start_bot, stop_bot

        while True:
            self.attempts += 1
            try:
                await start_bot(self.application)
                self.last_error = ""
                break
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self.last_error = type(err).__name__
                delay = TELEGRAM_RETRY_S[min(self.attempts, len(TELEGRAM_RETRY_S)) - 1]
                log.warning(
                    "Telegram not reachable (%s: %s); retrying in %.0f s",
                    type(err).__name__,
                    err,
                    delay,
                )
                with contextlib.suppress(Exception):
                    await stop_bot(self.application)
                await asyncio.sleep(delay)
        try:  # top-ups that moved while the bot was not running (a restart)
            await self.notifier.bring_up_to_date()
        except Exception:
            log.warning("top-up messages not brought up to date", exc_info=True)

    async def stop(self) -> None:
        from bot.telegram import stop_bot

        self.bus.unsubscribe(self.batcher)
        await self.batcher.stop()
        await self.queue.stop(TELEGRAM_DRAIN_S)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.application.running or self.polling:
            await stop_bot(self.application)

    def health(self) -> dict[str, Any]:
        """ok while the updater runs and polls are answered (not ``FAILING_AFTER`` failed
        in a row); ``error`` is the last start or poll error."""
        polls = self.watch.health() if self.watch is not None else {}
        failing = self.watch is not None and self.watch.failing
        state: dict[str, Any] = {"ok": self.polling and not failing, "polling": self.polling}
        state.update(polls)
        if self.last_error:
            state["error"] = self.last_error
        state["notifications"] = self.queue.health()
        return state


class Service:
    """Runs a ``Core`` with its scheduler, doors and health endpoint on one loop."""

    def __init__(
        self,
        core: Core,
        *,
        notifiers: list[Notifier] | None = None,
        health: bool = True,
    ) -> None:
        config = core.config
        self.core = core
        self.scheduler = CheckScheduler.from_config(config, core.store, core.checks, mqtt=core.mqtt)
        self.telegram: TelegramDoor | None = None
        if config.telegram.token.get_secret_value():
            self.telegram = TelegramDoor(core, busy=self.slots_running)
        self.batchers: list[SlotBatcher] = []  # the console's slot summaries
        if notifiers is None:
            notifiers = [] if self.telegram else [ConsoleNotifier(config.telegram.language)]
            self.batchers = [slot_batcher(config, n, self.slots_running) for n in notifiers]
        self.notifiers = notifiers
        self._listeners: list[Notifier] = [*self.batchers] if self.batchers else [*notifiers]
        self.cameras = CameraStates()
        from bot.blynk import build_blynk_door

        self.blynk = build_blynk_door(config, core.topups, core.bus)
        self.handoff = TopUpHandoff(config, core.topups, core.bus)  # tokenmeter topup
        self.health: HealthServer | None = None
        if health and config.service.health_port:
            self.health = HealthServer(
                self.probe, config.service.health_host, config.service.health_port
            )
        self._store_state: dict[str, Any] = {"ok": None, "checked": None}
        self._seeded = False
        self._store_probe: asyncio.Task[None] | None = None
        self._started = False
        self.started_at = 0.0

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        """Start every part; raises only for what cannot work at all (no broker binary)."""
        if self._started:
            return
        self._started = True
        began = time.monotonic()
        core = self.core
        for notifier in (self.cameras, *self._listeners):
            core.bus.subscribe(notifier)
        if self.health is not None:
            await self.health.start()  # first, so a health check sees the start-up
        await core.start()
        try:
            await self.scheduler.start()
        except StoreUnavailable as err:
            log.warning("store not reachable (%s); scheduled checks start when it is", err)
            await self.scheduler.stop()
        self._store_probe = asyncio.create_task(self._probe_store_forever(), name="store-probe")
        if self.telegram is not None:
            await self.telegram.start()
        if self.blynk is not None:
            await self.blynk.start()
        await self.handoff.start()
        self.started_at = time.monotonic()
        log.info(
            "service ready in %.1f s: %d meter(s), %d scheduled check(s), telegram %s, blynk %s",
            self.started_at - began,
            len(core.config.meters),
            self.scheduler.job_count(),
            "on" if self.telegram else "off (console notifications)",
            core.config.blynk.transport,
        )

    async def stop(self) -> None:
        """Stop in reverse order; unfinished top-ups keep their stored state."""
        if not self._started:
            return
        self._started = False
        try:
            await asyncio.wait_for(self._stop_parts(), STOP_BUDGET_S)
        except TimeoutError:
            log.warning("shutdown took longer than %.1f s; exiting anyway", STOP_BUDGET_S)
        log.info("service stopped")

    async def _stop_parts(self) -> None:
        core = self.core
        steps: list[tuple[str, Any]] = [("top-up hand-off", self.handoff.stop)]
        if self.blynk is not None:
            steps.append(("blynk", self.blynk.stop))
        if self.telegram is not None:
            steps.append(("telegram", self.telegram.stop))
        steps.append(("scheduler", self.scheduler.stop))
        steps.append(("store probe", self._stop_store_probe))
        steps.append(("core", core.stop))
        if self.health is not None:
            steps.append(("health", self.health.stop))
        for name, stop in steps:
            try:
                await stop()
            except Exception:
                log.exception("stopping %s failed", name)
        for notifier in (self.cameras, *self._listeners):
            core.bus.unsubscribe(notifier)
        for batcher in self.batchers:
            await batcher.stop()

    def slots_running(self) -> bool:
        """Whether scheduled checks are still running (a slot summary waits for them)."""
        return self.scheduler.slots_running > 0

    async def run(self, stop: asyncio.Event) -> None:
        """Start, wait until ``stop`` is set, then stop. ``stop`` set while starting
        cancels the start-up."""
        starting = asyncio.create_task(self.start(), name="service-start")
        stopping = asyncio.create_task(stop.wait(), name="service-stop-wait")
        try:
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                log.info("stopping during start-up")
                starting.cancel()
                await asyncio.gather(starting, return_exceptions=True)
                return
            starting.result()  # a start-up error is raised here
            await stopping
        finally:
            for task in (starting, stopping):
                task.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
            await self.stop()

    # -- health ---------------------------------------------------------------
    async def _probe_store_forever(self) -> None:
        while True:
            await self._probe_store()
            ok = bool(self._store_state.get("ok"))
            await asyncio.sleep(STORE_PROBE_EVERY_S if ok else STORE_RETRY_EVERY_S)

    async def _probe_store(self) -> None:
        """Reach the store; the first time it answers, seed it from the configuration and
        load the schedules (a cloud store that was away at start-up catches up here)."""
        first = not self._seeded
        try:
            await asyncio.wait_for(asyncio.to_thread(self._store_round), STORE_PROBE_TIMEOUT_S)
            state: dict[str, Any] = {"ok": True}
            if first and not self.scheduler_running():
                await self.scheduler.start()  # it was away at start-up
            elif first:
                schedules = await asyncio.to_thread(self._stored_schedules)
                self.scheduler.apply_schedules(schedules)
                await self.core.topups.resume()  # a no-op unless the store was away
                if self._store_state.get("ok") is False:
                    log.info("store reachable again: schedules loaded")
        except Exception as err:
            state = {"ok": False, "error": type(err).__name__}
            if self._store_state.get("ok") is not False:
                log.warning("store not reachable (%s: %s); retrying", type(err).__name__, err)
        queued = getattr(self.core.store, "queued_writes", None)
        if isinstance(queued, int):
            state["queued_writes"] = queued
        state["checked"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._store_state = state

    def _store_round(self) -> None:
        """(thread) One read; until it has worked once, seed the configured meters."""
        store, config = self.core.store, self.core.config
        if self._seeded:
            store.get_meter(config.meters[0].id)
            return
        seed_store(store, config)
        self._seeded = True

    def _stored_schedules(self) -> list[tuple[str, Schedule | None, str]]:
        """(thread) Each configured meter's schedule and timezone from the store."""
        store = self.core.store
        return [
            (meter.id, store.get_schedule(meter.id), meter.timezone)
            for meter in self.core.config.meters
        ]

    async def _stop_store_probe(self) -> None:
        if self._store_probe is not None:
            self._store_probe.cancel()
            await asyncio.gather(self._store_probe, return_exceptions=True)
            self._store_probe = None

    def scheduler_running(self) -> bool:
        try:
            return bool(self.scheduler.apscheduler.running)
        except RuntimeError:
            return False

    def probe(self) -> dict[str, Any]:
        """Each link's state and the overall status: ``ok`` when MQTT, the store, the
        scheduler and Telegram (if set) are up; ``degraded`` when only Telegram is not
        (checks and top-ups still work, the owner hears nothing); ``down`` otherwise.
        ``ok`` is true only for ``ok``. A device that is offline is shown but does not
        make the service unhealthy."""
        core = self.core
        links: dict[str, Any] = {
            "mqtt": {"ok": core.mqtt.connected, "connected": core.mqtt.connected},
            "store": {"backend": core.config.store.backend, **self._store_state},
            "scheduler": {
                "ok": self.scheduler_running(),
                "running": self.scheduler_running(),
                "jobs": self.scheduler.job_count() if self.scheduler_running() else 0,
            },
        }
        if core.broker is not None:
            links["broker"] = core.broker.health()
        if self.telegram is not None:
            links["telegram"] = self.telegram.health()
        if self.blynk is not None:
            connected = bool(getattr(self.blynk.transport, "connected", False))
            links["blynk"] = {"connected": connected}
        links["meters"] = {
            meter.id: {
                "keypad_online": core.keypad.is_online(meter.id),
                "camera": self.cameras.last.get(meter.id, {"last_check": None}),
            }
            for meter in core.config.meters
        }
        core_ok = self._started and all(bool(links[name].get("ok")) for name in CORE_LINKS)
        doors_ok = self.telegram is None or bool(links["telegram"].get("ok"))
        status = "down" if not core_ok else "ok" if doors_ok else "degraded"
        return {"ok": status == "ok", "status": status, "links": links}


def slot_batcher(
    config: Config, notifier: Notifier, busy: Callable[[], bool] | None
) -> SlotBatcher:
    """``notifier`` behind a ``SlotBatcher`` set as ``[telegram] slot_messages`` says."""
    return SlotBatcher(
        notifier,
        mode=config.telegram.slot_messages,
        summary_from=config.telegram.summary_from,
        busy=busy,
    )


def build_service(
    config: Config,
    *,
    sim: SimOptions | None = None,
    notifiers: list[Notifier] | None = None,
    health: bool = True,
) -> Service:
    """The service for ``config``: core, scheduler, doors (Telegram when a token is set,
    else console notifications; Blynk unless ``transport = "off"``) and ``/healthz``.
    ``notifiers`` replaces the console notifier. Nothing runs until ``start``."""
    core = build_core(config, sim=sim)
    try:
        return Service(core, notifiers=notifiers, health=health)
    except BaseException:
        core.store.close()
        raise
