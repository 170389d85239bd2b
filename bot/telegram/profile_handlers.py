"""Telegram handlers for meter profiles: ``/atur`` and ``/koreksi`` (routed like every
command, so the meter choice is the same paged keyboard), the "Benar" / "Ulang" /
"Geser kotak" buttons (and the box's arrows) under a setup photo, and the value the
owner types instead of "Benar".

What the commands do is in ``profile_commands``; the guard (group -1) has already
let only allowed chats through.
"""

from __future__ import annotations

import contextlib
import logging
import re

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.telegram import handlers
from bot.telegram.keyboards import parse_callback
from bot.telegram.profile_commands import (
    BOX_ANSWERS,
    CAPTION_LIMIT,
    CONFIRM,
    FLASH,
    MOVE,
    RETAKE,
    enrol_shot,
    move_box,
    setup_buttons,
    setup_caption,
    take_shot,
    words,
)
from bot.telegram.state import bot_state
from tokenmeter.errors import TokenmeterError
from tokenmeter.texts import error_sentence

log = logging.getLogger(__name__)

VALUE_PATTERN = r"^\s*\d{1,10}(?:[.,]\d{1,3})?\s*$"
"""A message that is only a meter value ("123,45"): the owner's answer to a setup photo."""
_VALUE = re.compile(VALUE_PATTERN)


async def atur(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photograph a meter for its camera setup and show what was found."""
    await handlers.route(update, context, "atur")


async def koreksi(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Correct the last reading of a meter with the owner's value."""
    args = list(context.args or [])
    state = bot_state(context.application)
    # "/koreksi 123,45 kos": the meter may come after the value; route wants it first.
    if len(args) >= 2 and state.meter(args[0]) is None and state.meter(args[-1]) is not None:
        args = [args[-1], *args[:-1]]
    await handlers.route(update, context, "koreksi", args)


async def setup_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """On "Benar" enrol the shown reading; on "Ulang" take a new setup photo (on the
    flash button, with the flash switched); on "Geser kotak" or an arrow move the box
    and redraw the photo."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    state = bot_state(context.application)
    _, answer, key = parse_callback(query.data)
    if answer == MOVE or answer in BOX_ANSWERS:
        kept = state.setups.get(key, chat.id)
        shown = state.meter(kept.shot.meter_id) if kept is not None else None
        if kept is None or shown is None:
            await _edit_caption(query, words(state.lang, "setup_expired"))
            return
        await move_box(query, state, key, kept, shown, answer)
        return
    pending = state.setups.take(key, chat.id) if answer in (CONFIRM, RETAKE, FLASH) else None
    meter = state.meter(pending.shot.meter_id) if pending is not None else None
    if pending is None or meter is None:
        await _edit_caption(query, words(state.lang, "setup_expired"))
        return
    caption = setup_caption(meter, pending.shot, state.lang)
    if answer in (RETAKE, FLASH):
        await _edit_caption(query, caption)  # the old buttons go
        flash = not pending.shot.flash if answer == FLASH else pending.shot.flash
        try:
            await take_shot(context.bot, state, chat.id, meter, flash)
        except TokenmeterError as err:
            log.info("telegram setup retake refused: %s", err.code)
            await context.bot.send_message(chat_id=chat.id, text=error_sentence(err, state.lang))
        return
    stored, result = await enrol_shot(state, meter, pending.shot, None)
    markup = None
    if not stored:  # still answerable: a typed value, or "Ulang"
        new_key = state.setups.keep(pending)
        markup = setup_buttons(new_key, state.lang, confirm=False, flash=pending.shot.flash)
    await _edit_caption(query, f"{caption}\n\n{result}", markup)


async def setup_value(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Enrol the chat's setup photo with the value typed by the owner; any other
    number goes on as plain text."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or message.text is None or chat is None:
        return
    state = bot_state(context.application)
    replied = message.reply_to_message.message_id if message.reply_to_message else None
    found = state.setups.latest(chat.id, replied) or state.setups.latest(chat.id)
    if found is None or not _VALUE.match(message.text):
        await handlers.text_message(update, context)
        return
    key, pending = found
    meter = state.meter(pending.shot.meter_id)
    if meter is None:  # pragma: no cover - shots are only taken of configured meters
        return
    stored, result = await enrol_shot(state, meter, pending.shot, message.text.strip())
    if stored:
        state.setups.take(key, chat.id)
        if pending.message_id:  # the photo's buttons are answered
            with contextlib.suppress(TelegramError):
                await context.bot.edit_message_reply_markup(
                    chat_id=chat.id, message_id=pending.message_id, reply_markup=None
                )
    await message.reply_text(result)


async def _edit_caption(
    query: CallbackQuery, caption: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit a photo's caption and its buttons (none unless given); an unchanged caption
    is no error."""
    try:
        await query.edit_message_caption(caption=caption[:CAPTION_LIMIT], reply_markup=markup)
    except TelegramError as err:
        log.debug("setup caption not edited: %s", err)
