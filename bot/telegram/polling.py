"""How long polling is going: every ``getUpdates`` the bot makes is counted.

python-telegram-bot retries a failing poll forever and its updater still says
"running", and a poll that times out reaches no error callback. So the request
object that carries ``getUpdates`` (``PollingRequest``, given to the application as
its ``get_updates_request``) tells a ``PollingWatch`` how each call ended. After
``FAILING_AFTER`` failures in a row the watch says polling is failing, until one
succeeds. The service shows it on ``/healthz``.
"""

from __future__ import annotations

import logging
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from telegram.error import TelegramError
from telegram.request import HTTPXRequest

if TYPE_CHECKING:
    from bot.telegram.app import BotApplication

log = logging.getLogger(__name__)

POLLING_KEY = "tokenmeter.polling"  # in application.bot_data
FAILING_AFTER = 3  # failed polls in a row before polling counts as failing
_BOT_TOKEN = re.compile(r"\d+:[\w-]{20,}")


def error_line(err: BaseException) -> str:
    """One line for the log and /healthz, never the bot token."""
    return _BOT_TOKEN.sub("***", f"{type(err).__name__}: {err}")[:200]


class PollingWatch:
    """The outcome of the last ``getUpdates`` calls: failures in a row, the last error,
    the time of the last success."""

    def __init__(self) -> None:
        self.failures = 0
        self.error = ""
        self.last_ok: float | None = None  # time.time() of the last answered poll

    @property
    def failing(self) -> bool:
        return self.failures >= FAILING_AFTER

    def succeeded(self) -> None:
        if self.failing:
            log.info("Telegram polling works again (after %d failed polls)", self.failures)
        self.failures = 0
        self.error = ""
        self.last_ok = time.time()

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.error = reason
        if self.failures == FAILING_AFTER:
            log.warning("Telegram polling failing: %d polls in a row (%s)", self.failures, reason)

    def on_error(self, err: TelegramError) -> None:
        """``start_polling``'s error callback: already counted, so only a debug line
        (the library's default logs a traceback on every retry)."""
        log.debug("polling error: %s", error_line(err))

    def health(self) -> dict[str, Any]:
        state: dict[str, Any] = {"failures": self.failures}
        if self.error:
            state["error"] = self.error
        if self.last_ok is not None:
            state["last_ok"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_ok))
        return state


class PollingRequest(HTTPXRequest):
    """The HTTP client for ``getUpdates`` that reports each call to ``watch``."""

    def __init__(self, watch: PollingWatch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.watch = watch

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        try:
            code, payload = await super().do_request(*args, **kwargs)
        except Exception as err:  # TimedOut, NetworkError: the poll got no answer
            self.watch.failed(error_line(err))
            raise
        if code == HTTPStatus.OK:
            self.watch.succeeded()
        else:
            self.watch.failed(f"HTTP {code} {_phrase(code)}".strip())
        return code, payload


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def polling_watch(application: BotApplication) -> PollingWatch | None:
    """The watch ``build_application`` installed, if any."""
    watch = application.bot_data.get(POLLING_KEY)
    return watch if isinstance(watch, PollingWatch) else None
