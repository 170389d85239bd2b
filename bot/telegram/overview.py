"""``/ringkasan`` (``/overview``): every meter in one message, what needs action first."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.state import bot_state
from bot.telegram.texts import say
from tokenmeter.domain import utcnow
from tokenmeter.overview import overview, overview_text

MESSAGE_LIMIT = 4000  # Telegram's limit is 4096 characters


def split_lines(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` cut at line ends into pieces of at most ``limit`` characters."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    if current:
        pieces.append(current)
    return pieces


async def ringkasan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the balance, days left, last check, devices and open top-ups of every
    meter the chat may see."""
    if update.effective_chat is None:
        return
    state = bot_state(context.application)
    meters = state.visible_meters(update.effective_chat.id)
    if not meters:
        await context.bot.send_message(
            chat_id=update.effective_chat.id, text=say(state.lang, "no_meters")
        )
        return
    now = utcnow()
    items = await asyncio.to_thread(overview, state.deps.store, meters, now)
    for piece in split_lines(overview_text(items, now, state.lang)):
        await context.bot.send_message(chat_id=update.effective_chat.id, text=piece)
