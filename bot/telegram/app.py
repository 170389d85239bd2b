"""Build the python-telegram-bot ``Application``: every handler is registered here."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import access_handlers, export, handlers, overview, profile_handlers
from bot.telegram.keyboards import CHOOSE_PATTERN, TOPUP_PATTERN
from bot.telegram.polling import POLLING_KEY, PollingRequest, PollingWatch, polling_watch
from bot.telegram.profile_commands import SETUP_PATTERN
from bot.telegram.replies import ReplyRetrying, mark_reply
from bot.telegram.state import STATE_KEY, BotState, TelegramDeps, bot_state
from bot.telegram.texts import COMMANDS
from tokenmeter.access import AccessBook, file_people
from tokenmeter.config import TelegramConfig
from tokenmeter.errors import ConfigError

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]
RATE_LIMIT_RETRIES = 3  # 429 answers retried after Telegram's retry_after
CONCURRENT_UPDATES = 64  # updates handled at once (different chats do not wait)
ALLOWED_UPDATES = ["message", "callback_query"]

# Indonesian command, English alias, handler
_COMMANDS = [
    ("start", "start", handlers.start),
    ("bantuan", "help", handlers.start),
    ("cektoken", "check", handlers.cektoken),
    ("status", "status", handlers.status),
    ("riwayat", "history", handlers.riwayat),
    ("grafik", "chart", handlers.grafik),
    ("jadwal", "schedule", handlers.jadwal),
    ("isi", "topup", handlers.isi),
    ("batas", "threshold", handlers.batas),
    ("ringkasan", "overview", overview.ringkasan),
    ("ekspor", "export", export.ekspor),
    ("atur", "setup", profile_handlers.atur),
    ("koreksi", "correct", profile_handlers.koreksi),
    ("akses", "access", access_handlers.akses),
]


def file_url_for(base_url: str) -> str:
    """The file URL that goes with a Bot API URL (``…/bot`` -> ``…/file/bot``)."""
    base = base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file"


def build_application(config: TelegramConfig, deps: TelegramDeps) -> BotApplication:
    """The bot, wired to the services and store in ``deps``; not started."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines hold the token
    token = config.token.get_secret_value()
    if not token:
        raise ConfigError("telegram.token is empty", problems=[("telegram.token", "empty")])
    watch = PollingWatch()  # every getUpdates is counted, for /healthz
    builder = (
        ApplicationBuilder()
        .token(token)
        .rate_limiter(ReplyRetrying(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(CONCURRENT_UPDATES)
        .connect_timeout(10)
        .read_timeout(20)
        .write_timeout(30)
        .get_updates_request(PollingRequest(watch, connection_pool_size=1, read_timeout=10))
        .post_init(set_commands)
    )
    if config.api_base_url:
        base = config.api_base_url.rstrip("/")
        builder = builder.base_url(base).base_file_url(file_url_for(base))
    application: BotApplication = builder.build()
    application.bot_data[POLLING_KEY] = watch
    access = AccessBook(file_people(config.allowed_chats, deps.people), deps.store)
    application.bot_data[STATE_KEY] = BotState(
        deps=deps,
        lang=deps.language or config.language,
        access=access,
        offline_alert_minutes=config.offline_alert_minutes,
    )
    if not access.current.owners():
        log.warning(
            "no owner in telegram.allowed_chats or [[people]]: only tenants may use the bot. "
            "Send /start to the bot and copy your chat id from the refusal (or this log) "
            "into telegram.allowed_chats."
        )

    application.add_handler(TypeHandler(Update, mark_reply), group=-2)
    application.add_handler(TypeHandler(Update, handlers.guard), group=-1)
    for indonesian, english, callback in _COMMANDS:
        names = [indonesian] if indonesian == english else [indonesian, english]
        application.add_handler(CommandHandler(names, callback))
    application.add_handler(MessageHandler(filters.COMMAND, handlers.unknown_command))
    # A bare number may answer a setup photo (/atur); otherwise it is plain text.
    value = filters.TEXT & ~filters.COMMAND & filters.Regex(profile_handlers.VALUE_PATTERN)
    application.add_handler(MessageHandler(value, profile_handlers.setup_value))
    application.add_handler(MessageHandler(filters.TEXT, handlers.text_message))
    application.add_handler(CallbackQueryHandler(handlers.choose_meter, pattern=CHOOSE_PATTERN))
    application.add_handler(CallbackQueryHandler(handlers.confirm_topup, pattern=TOPUP_PATTERN))
    application.add_handler(
        CallbackQueryHandler(profile_handlers.setup_button, pattern=SETUP_PATTERN)
    )
    application.add_error_handler(handlers.on_error)
    return application


async def set_commands(application: BotApplication) -> None:
    """Show the commands in the client's menu, in the bot's language."""
    lang = bot_state(application).lang
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, description in COMMANDS[lang]]
    )


async def start_bot(application: BotApplication, poll_timeout: int = 10) -> None:
    """Initialise, set the command menu, start handling and long-polling."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    if application.updater is not None:
        watch = polling_watch(application)
        await application.updater.start_polling(
            timeout=poll_timeout,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=watch.on_error if watch else None,
        )
    log.info("telegram bot started")


async def stop_bot(application: BotApplication) -> None:
    """Stop polling and handling, then release the HTTP clients. Replies still retried
    through an outage are given up, so stopping is not held up."""
    limiter = application.bot.rate_limiter
    if isinstance(limiter, ReplyRetrying):
        limiter.give_up()
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    log.info("telegram bot stopped")
