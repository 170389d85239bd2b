"""The Telegram door (python-telegram-bot v22): commands, alerts, top-up confirmation."""

from bot.telegram.app import build_application, start_bot, stop_bot
from bot.telegram.notifier import TelegramNotifier
from bot.telegram.state import TelegramDeps

__all__ = ["TelegramDeps", "TelegramNotifier", "build_application", "start_bot", "stop_bot"]
