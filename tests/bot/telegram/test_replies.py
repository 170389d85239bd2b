"""Replies carried through a Telegram outage (``bot.telegram.replies``), against the
fake Bot API over real HTTP: a reply is retried until Telegram answers, a
notification is not, and stopping the bot ends the retries."""

from __future__ import annotations

import asyncio

from bot.telegram import stop_bot
from bot.telegram.replies import ReplyRetrying
from tests.bot.telegram.conftest import OWNER, SECOND_OWNER, Bot
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.events import MeterBeep

STOP_WITHIN_S = 10.0  # a bound for the test, not a measurement


def failed_sends(api: FakeBotApi) -> int:
    return len([c for c in api.calls if c.method == "sendMessage" and not c.ok])


def limiter(bot: Bot) -> ReplyRetrying:
    rate_limiter = bot.app.bot.rate_limiter
    assert isinstance(rate_limiter, ReplyRetrying)
    return rate_limiter


async def test_a_reply_is_retried_until_telegram_answers(bot: Bot) -> None:
    """Every send answered 502 for a while: the reply to /status is tried again and
    again, and arrives once Telegram answers."""
    bot.api.fail(502, "sendMessage")
    bot.api.send_text(OWNER, "/status")
    assert await bot.api.until(lambda: failed_sends(bot.api) >= 2, 15), "not retried"
    assert list(bot.api.sent_messages(OWNER)) == []
    bot.api.recover()
    assert await bot.api.until(lambda: bool(list(bot.api.sent_messages(OWNER))), 30)
    assert limiter(bot).retried == 1


async def test_a_notification_is_not_retried(bot: Bot) -> None:
    """A notification that fails is tried once per chat: its queue has its own limit."""
    bot.api.fail(502, "sendMessage")
    await bot.core.bus.publish(MeterBeep("rumah"))
    assert failed_sends(bot.api) == 2  # OWNER and SECOND_OWNER, once each
    assert limiter(bot).retried == 0
    assert list(bot.api.sent_messages(SECOND_OWNER)) == []


async def test_stopping_the_bot_ends_the_retries(bot: Bot) -> None:
    """The bot stops while a reply waits for the outage to end: the reply is given up
    and stopping is not held up for the whole patience."""
    bot.api.fail(502, "sendMessage")
    bot.api.send_text(OWNER, "/status")
    assert await bot.api.until(lambda: failed_sends(bot.api) >= 1, 15)
    await asyncio.wait_for(stop_bot(bot.app), STOP_WITHIN_S)
    assert not bot.app.running
    assert list(bot.api.sent_messages(OWNER)) == []
