"""The application as a whole: start-up, access control, rate limits, errors, load."""

from __future__ import annotations

import logging

import pytest

from bot.telegram.texts import COMMANDS
from tests.bot.telegram.conftest import CROWD, OWNER, STRANGER, Bot
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.errors import StoreUnavailable, TokenmeterError
from tokenmeter.texts import error_sentence


async def test_start_sets_the_command_menu(bot: Bot) -> None:
    """Starting the bot publishes the Indonesian command menu."""
    assert [c["command"] for c in bot.api.commands] == [name for name, _ in COMMANDS["id"]]


async def test_start_lists_every_command(bot: Bot) -> None:
    """/start explains the bot and lists the commands and meters."""
    (reply,) = await bot.command(OWNER, "/start")
    for command in ("/cektoken", "/status", "/riwayat", "/grafik", "/jadwal", "/isi", "/batas"):
        assert command in reply.text
    assert "Rumah (rumah)" in reply.text


async def test_english_help_and_menu(english_bot: Bot) -> None:
    """With language = "en" the menu and /help are English."""
    (reply,) = await english_bot.command(OWNER, "/help")
    assert "/check" in reply.text and "Hello!" in reply.text
    assert english_bot.api.commands[0]["command"] == "check"


async def test_stranger_gets_one_refusal_and_nothing_else(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    """A chat not in allowed_chats gets one polite refusal, no data, and is logged."""
    caplog.set_level(logging.WARNING, logger="bot.telegram")
    to_stranger = await bot.refused(STRANGER, ["/cektoken", "/status", "/riwayat"], "/bantuan")
    assert [c.method for c in to_stranger] == ["sendMessage"]
    assert "Maaf" in to_stranger[0].text and str(STRANGER) in to_stranger[0].text
    assert bot.core.store.latest_reading("rumah") is None  # no capture started
    assert any(str(STRANGER) in r.getMessage() for r in caplog.records)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_retried_after_retry_after(bot: Bot) -> None:
    """A 429 answer is retried after retry_after and the user still gets the reply."""
    bot.api.rate_limit("sendMessage", retry_after=1)
    (reply,) = await bot.command(OWNER, "/start")
    attempts = bot.api.calls_of("sendMessage", OWNER)
    assert len(attempts) == 2
    assert attempts[0].text == attempts[1].text == reply.text


async def test_twenty_chats_at_once_are_all_answered(crowd_bot: Bot) -> None:
    """Twenty chats asking /cektoken at the same moment all get the photo."""
    api: FakeBotApi = crowd_bot.api
    api.send_many([(chat, "/cektoken") for chat in CROWD])
    assert await api.until(
        lambda: all(api.calls_of("sendPhoto", chat) for chat in CROWD), timeout=30
    )
    assert all(len(api.calls_of("sendPhoto", chat)) == 1 for chat in CROWD)
    # they shared the captures instead of photographing the meter twenty times
    assert len(crowd_bot.core.store.last_readings("rumah", 50)) < len(CROWD)


async def test_unexpected_failure_is_one_plain_sentence(bot: Bot) -> None:
    """An unexpected exception is logged; the chat gets a plain sentence, no traceback."""
    bot.core.store.close()
    (reply,) = await bot.command(OWNER, "/status")
    assert reply.text in {
        error_sentence(TokenmeterError(), "id"),
        error_sentence(StoreUnavailable(), "id"),
    }
    assert "Traceback" not in reply.text and "Error" not in reply.text
