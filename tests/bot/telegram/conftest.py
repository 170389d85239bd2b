"""The real bot against the fake Bot API server, with the real core behind it
(SQLite in tmp_path, the session mosquitto, simulated camera and keypad)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.telegram import TelegramDeps, TelegramNotifier, build_application, start_bot, stop_bot
from bot.telegram.app import BotApplication
from tests.servers.telegram_api import ApiCall, FakeBotApi
from tokenmeter.access import PersonConfig
from tokenmeter.app import Core, SimOptions, build_core
from tokenmeter.config import Config, TelegramConfig
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.services.camera_setup import CameraSetup

OWNER = 1001  # an allowed private chat
SECOND_OWNER = 1002
STRANGER = 6666
GROUP = -100123  # an allowed group chat
CROWD = tuple(range(2001, 2021))  # twenty allowed chats
TENANT = 3001  # a tenant of Kamar 1 (kos)
TWO_ROOMS = 3002  # a tenant of Kamar 1 and Kamar 3 (kos)


@dataclass
class Bot:
    """A running bot, its fake Telegram, and the core behind it."""

    api: FakeBotApi
    app: BotApplication
    core: Core

    async def command(
        self, chat_id: int, text: str, replies: int = 1, method: str | None = None
    ) -> list[ApiCall]:
        """Send ``text`` from ``chat_id``; wait for that many new messages to it
        (only ``method`` ones when given: a check may also raise a low-balance alert)."""

        def answers() -> list[ApiCall]:
            sent = list(self.api.sent_messages(chat_id))
            return [c for c in sent if method is None or c.method == method]

        before = len(answers())
        self.api.send_text(chat_id, text)
        assert await self.api.until(lambda: len(answers()) >= before + replies), (
            f"no answer to {text!r}"
        )
        return answers()[before:]

    async def refused(self, chat_id: int, texts: list[str], then: str) -> list[ApiCall]:
        """Send ``texts`` at once from a chat that is not allowed; the calls made to it
        once the first has come and two commands ``then`` of the owner were answered
        (updates are handled concurrently: a second refusal would have come by then)."""
        self.api.send_many([(chat_id, text) for text in texts])

        def to_chat() -> list[ApiCall]:
            return [c for c in self.api.calls if c.chat_id == chat_id]

        assert await self.api.until(lambda: len(to_chat()) >= 1), "no refusal"
        for _ in range(2):
            await self.command(OWNER, then)
        return to_chat()


def make_config(tmp_path: Path, broker: LocalBroker, meters: list[dict[str, Any]]) -> Config:
    return Config.model_validate(
        {
            "store": {
                "sqlite_path": str(tmp_path / "tokenmeter.db"),
                "photo_dir": str(tmp_path / "photos"),
            },
            "mqtt": {"url": broker.url, "prefix": f"tg-{uuid.uuid4().hex[:8]}"},
            "topup": {"settle_s": 0.1, "result_timeout_s": 10},
            "meters": meters,
        }
    )


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


async def running_bot(
    api: FakeBotApi,
    config: Config,
    tmp_path: Path,
    language: str = "id",
    allowed: tuple[int, ...] = (OWNER, SECOND_OWNER),
    people: list[PersonConfig] | None = None,
) -> AsyncIterator[Bot]:
    core = build_core(config, sim=SimOptions(key_time_scale=0.01, state_dir=tmp_path / "sim"))
    telegram = TelegramConfig.model_validate(
        {
            "token": api.token,
            "api_base_url": api.base_url,
            "allowed_chats": list(allowed),
            "language": language,
        }
    )
    deps = TelegramDeps(
        store=core.store,
        checker=core.checks,
        topups=core.topups,
        meters=[m.to_meter() for m in config.meters],
        profiles=core.checks.profiles,
        camera_setup=CameraSetup(core.checks),
        people=people or [],
    )
    app = build_application(telegram, deps)
    notifier = TelegramNotifier(app)
    async with core:
        core.bus.subscribe(notifier)
        await start_bot(app, poll_timeout=1)
        try:
            yield Bot(api, app, core)
        finally:
            await stop_bot(app)
            core.bus.unsubscribe(notifier)


@pytest.fixture
async def bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """One simulated meter, Indonesian texts."""
    config = make_config(tmp_path, broker, [{"id": "rumah", "name": "Rumah"}])
    async for running in running_bot(api, config, tmp_path):
        yield running


@pytest.fixture
async def two_meter_bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """Two simulated meters: commands without a meter ask with buttons."""
    config = make_config(
        tmp_path,
        broker,
        [{"id": "rumah", "name": "Rumah"}, {"id": "kos", "name": "Kos Melati"}],
    )
    async for running in running_bot(api, config, tmp_path):
        yield running


@pytest.fixture
async def crowd_bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """One meter, twenty allowed chats."""
    config = make_config(tmp_path, broker, [{"id": "rumah", "name": "Rumah"}])
    async for running in running_bot(api, config, tmp_path, allowed=CROWD):
        yield running


@pytest.fixture
async def english_bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """One meter, English texts."""
    config = make_config(tmp_path, broker, [{"id": "rumah", "name": "Rumah"}])
    async for running in running_bot(api, config, tmp_path, language="en"):
        yield running


@pytest.fixture
async def group_bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """One meter, an allowed private chat and an allowed group."""
    config = make_config(tmp_path, broker, [{"id": "rumah", "name": "Rumah"}])
    async for running in running_bot(api, config, tmp_path, allowed=(OWNER, GROUP)):
        yield running


@pytest.fixture
async def kos(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """Three rooms, two owners, a tenant of Kamar 1 and one of Kamar 1 and 3."""
    config = make_config(
        tmp_path, broker, [{"id": f"kamar{n}", "name": f"Kamar {n}"} for n in (1, 2, 3)]
    )
    people = [
        PersonConfig(chat_id=TENANT, meters=["kamar1"], name="Budi"),
        PersonConfig(chat_id=TWO_ROOMS, meters=["kamar1", "kamar3"]),
    ]
    async for running in running_bot(api, config, tmp_path, people=people):
        yield running
