"""Tests for bot.telegram.polling: getUpdates outcomes counted against the local Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.telegram.polling import FAILING_AFTER, PollingRequest, PollingWatch
from tests.servers.telegram_api import FakeBotApi


@pytest.fixture
async def polled(api: FakeBotApi) -> AsyncIterator[tuple[Bot, PollingWatch]]:
    """A Bot whose getUpdates goes through a PollingRequest to the local server."""
    watch = PollingWatch()
    bot = Bot(
        api.token,
        base_url=api.base_url,
        get_updates_request=PollingRequest(watch, connection_pool_size=1, read_timeout=1),
    )
    await bot.initialize()
    try:
        yield bot, watch
    finally:
        api.recover()
        await bot.shutdown()


async def test_answered_polls_are_healthy(
    polled: tuple[Bot, PollingWatch], api: FakeBotApi
) -> None:
    """A poll the server answers counts as a success and stamps last_ok."""
    bot, watch = polled
    await bot.get_updates(timeout=0)
    assert not watch.failing and watch.failures == 0 and "last_ok" in watch.health()


async def test_failing_after_n_errors_in_a_row_cleared_by_one_success(
    polled: tuple[Bot, PollingWatch], api: FakeBotApi
) -> None:
    """HTTP 502 answers count; FAILING_AFTER of them make it failing, with the error;
    one answered poll clears it."""
    bot, watch = polled
    api.fail(502, "getUpdates")
    for n in range(1, FAILING_AFTER + 1):
        assert not watch.failing
        with pytest.raises(NetworkError):
            await bot.get_updates(timeout=0)
        assert watch.failures == n
    assert watch.failing and watch.health()["error"] == "HTTP 502 Bad Gateway"
    api.recover()
    await bot.get_updates(timeout=0)
    assert not watch.failing and "error" not in watch.health()


async def test_a_poll_that_hangs_counts_as_failed_without_the_token(
    polled: tuple[Bot, PollingWatch], api: FakeBotApi
) -> None:
    """A Bot API that never answers: the time-out is a failure; the reason never holds
    the bot token."""
    bot, watch = polled
    api.hang("getUpdates")
    with pytest.raises(TimedOut):
        await bot.get_updates(timeout=0)
    assert watch.failures == 1 and watch.error.startswith("TimedOut")
    assert api.token not in str(watch.health())
