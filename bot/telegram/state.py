"""What the Telegram door keeps between updates: its dependencies and short-lived
conversation state (pending confirmations, meter choices, checks in flight)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application

from bot.telegram.progress import TopUpProgress
from tokenmeter.access import AccessBook, PersonConfig
from tokenmeter.domain import Meter
from tokenmeter.events import CheckOutcome
from tokenmeter.services.api import Checker, TopUps
from tokenmeter.services.camera_setup import CameraSetup, SetupShot
from tokenmeter.services.profiles import ProfileService
from tokenmeter.store.base import Store
from tokenmeter.texts import Lang

STATE_KEY = "tokenmeter"
PENDING_TTL_S = 10 * 60  # a confirmation or meter choice older than this is refused
MAX_REFUSED = 10_000
MAX_SETUPS = 32  # setup photos kept at once (each holds a decoded camera frame)


@dataclass
class TelegramDeps:
    """What the composition root hands the bot."""

    store: Store
    checker: Checker
    topups: TopUps
    meters: list[Meter]
    language: Lang | None = None  # None = telegram.language from the config
    tariff_rp_per_kwh: float = 0.0  # [billing]: rupiah estimates in /ekspor
    profiles: ProfileService | None = None  # /koreksi; None: the command says it is missing
    camera_setup: CameraSetup | None = None  # /atur; None: the command says it is missing
    people: list[PersonConfig] = field(default_factory=list)  # [[people]] of the config


@dataclass
class PendingTopUp:
    """A token waiting for "Ya, isi"; the digits never leave the process."""

    chat_id: int
    meter_id: str
    digits: str
    created: float = field(default_factory=time.monotonic)


@dataclass
class PendingChoice:
    """A command waiting for the user to pick a meter."""

    chat_id: int
    command: str
    args: list[str]
    created: float = field(default_factory=time.monotonic)
    indices: list[int] | None = None  # the meters a name search found (None = all)


@dataclass
class PendingSetup:
    """A setup photo waiting for "Benar", "Ulang" or the value typed by the owner."""

    chat_id: int
    shot: SetupShot
    message_id: int = 0  # the overlay photo's message, once sent
    created: float = field(default_factory=time.monotonic)


class PendingSetups:
    """The setup photos shown to chats, by random key; one per chat (a new /atur
    replaces the chat's previous photo), at most ``MAX_SETUPS``, none older than
    ``PENDING_TTL_S``."""

    def __init__(self) -> None:
        self._by_key: dict[str, PendingSetup] = {}

    def keep(self, pending: PendingSetup) -> str:
        """Remember a shot for its chat; return the random key for the buttons."""
        _expire(self._by_key)
        for key in [k for k, v in self._by_key.items() if v.chat_id == pending.chat_id]:
            del self._by_key[key]
        while len(self._by_key) >= MAX_SETUPS:
            del self._by_key[next(iter(self._by_key))]
        key = secrets.token_urlsafe(6)
        self._by_key[key] = pending
        return key

    def get(self, key: str, chat_id: int) -> PendingSetup | None:
        """The shot under ``key``, only for the chat it was shown to, if still fresh."""
        _expire(self._by_key)
        pending = self._by_key.get(key)
        return pending if pending is not None and pending.chat_id == chat_id else None

    def latest(
        self, chat_id: int, message_id: int | None = None
    ) -> tuple[str, PendingSetup] | None:
        """The chat's shot (the one in message ``message_id`` when given), with its key."""
        _expire(self._by_key)
        for key, pending in self._by_key.items():
            if pending.chat_id == chat_id and message_id in (None, pending.message_id):
                return key, pending
        return None

    def take(self, key: str, chat_id: int) -> PendingSetup | None:
        """Hand out the shot once (a second press of "Benar" finds nothing)."""
        pending = self.get(key, chat_id)
        if pending is not None:
            del self._by_key[key]
        return pending


class CheckRuns:
    """At most one capture per meter at a time; later askers share its outcome."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[CheckOutcome]] = {}
        self._waiting: dict[str, set[int]] = {}

    def busy(self, meter_id: str, chat_id: int) -> bool:
        """True when this chat already waits for a check of this meter."""
        return chat_id in self._waiting.get(meter_id, set())

    async def run(
        self, meter_id: str, chat_id: int, start: Callable[[], Awaitable[CheckOutcome]]
    ) -> CheckOutcome:
        task = self._running.get(meter_id)
        if task is None:

            async def capture() -> CheckOutcome:
                return await start()

            task = asyncio.create_task(capture(), name=f"telegram-check-{meter_id}")
            self._running[meter_id] = task
            self._waiting[meter_id] = set()
            task.add_done_callback(lambda _t: self._finished(meter_id, _t))
        self._waiting[meter_id].add(chat_id)
        try:
            return await asyncio.shield(task)
        finally:
            self._waiting.get(meter_id, set()).discard(chat_id)

    def _finished(self, meter_id: str, task: asyncio.Task[CheckOutcome]) -> None:
        if self._running.get(meter_id) is task:
            del self._running[meter_id]
            self._waiting.pop(meter_id, None)
        if not task.cancelled():
            task.exception()  # retrieved: each waiter got it already


@dataclass
class BotState:
    """Everything handlers read from ``context.application.bot_data``."""

    deps: TelegramDeps
    lang: Lang
    access: AccessBook  # who may use the bot and which meters (tokenmeter.access)
    offline_alert_minutes: int = 10
    refused: set[int] = field(default_factory=set)
    pending_topups: dict[str, PendingTopUp] = field(default_factory=dict)
    pending_choices: dict[str, PendingChoice] = field(default_factory=dict)
    checks: CheckRuns = field(default_factory=CheckRuns)
    progress: TopUpProgress = field(default_factory=TopUpProgress)
    setups: PendingSetups = field(default_factory=PendingSetups)

    @property
    def meters(self) -> list[Meter]:
        return self.deps.meters

    def meter(self, meter_id: str, chat_id: int | None = None) -> Meter | None:
        """The configured meter with this id (case-insensitive), or None; with
        ``chat_id``, only a meter that chat may see."""
        wanted = meter_id.strip().lower()
        for meter in self.deps.meters:
            if meter.id.lower() == wanted:
                return meter if chat_id is None or self.can_use(chat_id, meter.id) else None
        return None

    def meter_name(self, meter_id: str) -> str:
        meter = self.meter(meter_id)
        return meter.name if meter else meter_id

    def allowed(self, chat_id: int) -> bool:
        return self.access.current.allowed(chat_id)

    def is_owner(self, chat_id: int) -> bool:
        return self.access.current.is_owner(chat_id)

    def can_use(self, chat_id: int, meter_id: str) -> bool:
        """Whether the chat may see and top up the meter."""
        return self.access.current.can_use(chat_id, meter_id)

    def visible_meters(self, chat_id: int) -> list[Meter]:
        """The meters the chat may see, in the configured order."""
        return self.access.current.visible(chat_id, self.deps.meters)

    def visible_indices(self, chat_id: int) -> list[int]:
        """Places in ``meters`` of the meters the chat may see."""
        return [i for i, m in enumerate(self.deps.meters) if self.can_use(chat_id, m.id)]

    def first_refusal(self, chat_id: int) -> bool:
        """True the first time a chat is refused; later attempts are ignored."""
        if chat_id in self.refused:
            return False
        if len(self.refused) >= MAX_REFUSED:
            self.refused.clear()
        self.refused.add(chat_id)
        return True

    def keep_topup(self, pending: PendingTopUp) -> str:
        """Remember a token until it is confirmed; return the random key for the buttons."""
        _expire(self.pending_topups)
        key = secrets.token_urlsafe(9)
        self.pending_topups[key] = pending
        return key

    def take_topup(self, key: str, chat_id: int) -> PendingTopUp | None:
        """Hand out a pending token once, only to the chat it came from, if still fresh."""
        _expire(self.pending_topups)
        pending = self.pending_topups.get(key)
        if pending is None or pending.chat_id != chat_id:
            return None
        return self.pending_topups.pop(key)

    def keep_choice(self, choice: PendingChoice) -> str:
        _expire(self.pending_choices)
        key = secrets.token_urlsafe(6)
        self.pending_choices[key] = choice
        return key

    def take_choice(self, key: str, chat_id: int) -> PendingChoice | None:
        _expire(self.pending_choices)
        choice = self.pending_choices.get(key)
        if choice is None or choice.chat_id != chat_id:
            return None
        return self.pending_choices.pop(key)

    def peek_choice(self, key: str, chat_id: int) -> PendingChoice | None:
        """The pending choice, left in place (turning a page of meter buttons)."""
        _expire(self.pending_choices)
        choice = self.pending_choices.get(key)
        return choice if choice is not None and choice.chat_id == chat_id else None


def _expire(pending: dict[str, Any]) -> None:
    cutoff = time.monotonic() - PENDING_TTL_S
    for key in [k for k, v in pending.items() if v.created < cutoff]:
        del pending[key]


def bot_state(application: Application[Any, Any, Any, Any, Any, Any]) -> BotState:
    """The door's state stored by ``build_application``."""
    state = application.bot_data[STATE_KEY]
    assert isinstance(state, BotState)
    return state
