"""Replies to commands carried through a Telegram outage.

A command fetched just before or during an outage is answered with requests that
fail: an HTTP 5xx from a proxy, a timeout, a refused connection. python-telegram-bot
raises ``NetworkError`` (``TimedOut`` is one) and the reply would be lost.
``ReplyRetrying``, the application's rate limiter, sends such a request again after
growing pauses for up to ``REPLY_PATIENCE_S``, so the reply goes out when the outage
ends; the handler waits for it, so its next message follows in order.

Only requests made while an update is handled are retried: ``mark_reply`` runs
first for every update and marks its task. Notifications have their own queue and
time limit (``tokenmeter.events.NotifierQueue``) and are not retried here. An answer
from Telegram (400 ``BadRequest``, 403, 429 after the limiter's own retries) is never
retried. A request whose answer was lost may have arrived, so a reply can show twice
after an outage, which is better than not at all. ``give_up`` (at shutdown) ends the
pauses at once, so stopping the bot is not held up.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter, ContextTypes

from bot.telegram.polling import error_line

log = logging.getLogger(__name__)

REPLY_PATIENCE_S = 600.0  # how long a reply is retried through an outage
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 15.0
RETRIED = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
    }
)

_replying: contextvars.ContextVar[bool] = contextvars.ContextVar("telegram_reply", default=False)

Answer = bool | dict[str, Any] | list[dict[str, Any]]


async def mark_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mark the task handling this update: its messages are replies, retried through
    an outage (the handlers of one update run in one task, group by group)."""
    _replying.set(True)


class ReplyRetrying(AIORateLimiter):
    """``AIORateLimiter`` that also retries the replies to updates through an outage."""

    def __init__(self, *, patience_s: float = REPLY_PATIENCE_S, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.patience_s = patience_s
        self.retried = 0  # requests that needed a retry (for the tests and the log)
        self._giving_up = asyncio.Event()

    async def initialize(self) -> None:
        self._giving_up.clear()
        await super().initialize()

    def give_up(self) -> None:
        """End every pause now: the request waiting in it fails with its last error."""
        self._giving_up.set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Answer]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Answer:
        if endpoint not in RETRIED or not _replying.get():
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.patience_s
        pause = FIRST_PAUSE_S
        tries = 0
        while True:
            try:
                answer = await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:
                raise  # Telegram answered: the request itself is wrong
            except NetworkError as err:
                tries += 1
                if self._giving_up.is_set() or loop.time() + pause > deadline:
                    log.warning(
                        "telegram %s to chat %s failed %d times; given up: %s",
                        endpoint,
                        data.get("chat_id"),
                        tries,
                        error_line(err),
                    )
                    raise
                if tries == 1:
                    self.retried += 1
                    log.info(
                        "telegram %s to chat %s failed (%s); retrying for up to %.0f s",
                        endpoint,
                        data.get("chat_id"),
                        error_line(err),
                        self.patience_s,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._giving_up.wait(), pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)
                continue
            if tries:
                log.info(
                    "telegram %s to chat %s sent after %d retries",
                    endpoint,
                    data.get("chat_id"),
                    tries,
                )
            return answer
