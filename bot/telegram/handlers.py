"""Telegram handlers: read the update, pick the meter, hand over to a command runner.

Handlers hold no business logic; they translate updates into calls of the
``Checker`` / ``TopUps`` services and the store, and results into messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.telegram.commands import RUNNERS, Call, owner_only, refuse_extra
from bot.telegram.keyboards import meter_choice, parse_callback, search_meters
from bot.telegram.state import BotState, PendingChoice, bot_state
from bot.telegram.texts import say
from bot.telegram.views import topup_text
from tokenmeter.domain import TOKEN_DIGITS, Meter, mask_token
from tokenmeter.errors import TokenmeterError
from tokenmeter.texts import error_sentence

log = logging.getLogger(__name__)

MIN_TOKEN_DIGITS = 16  # a message of digit groups this long holds (most of) a token
_DIGIT_GROUP = re.compile(r"[0-9.\-]+")


async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Let owners and tenants through; refuse any other chat once, then ignore it."""
    state = bot_state(context.application)
    chat = update.effective_chat
    if state.access.stale:  # /akses of another instance, or the store came back
        await asyncio.to_thread(state.access.load)
    if chat is not None and state.allowed(chat.id):
        return
    if chat is not None and state.first_refusal(chat.id):
        log.warning("refused telegram chat %s (not an owner or tenant)", chat.id)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                chat_id=chat.id, text=say(state.lang, "refused", chat_id=chat.id)
            )
    else:
        log.debug("ignored update from chat %s", chat.id if chat else None)
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure with its traceback and tell the chat in one plain sentence."""
    log.error("telegram update failed: %r", context.error, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    state = bot_state(context.application)
    if state.allowed(update.effective_chat.id):
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(
                chat_id=update.effective_chat.id,
                text=error_sentence(TokenmeterError(), state.lang),
            )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot does and list every command and the chat's meters."""
    state = bot_state(context.application)
    if update.effective_chat is not None:
        visible = state.visible_meters(update.effective_chat.id)
        meters = ", ".join(f"{m.name} ({m.id})" for m in visible)
        await context.bot.send_message(
            chat_id=update.effective_chat.id, text=say(state.lang, "help", meters=meters)
        )


async def cektoken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Check a meter now and send the photo with the reading."""
    await route(update, context, "cektoken")


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the last reading and the devices' states."""
    await route(update, context, "status")


async def riwayat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the last readings as a table."""
    await route(update, context, "riwayat")


async def grafik(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the balance and usage chart."""
    await route(update, context, "grafik")


async def jadwal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show or set the check schedule."""
    await route(update, context, "jadwal")


async def batas(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show or set the low-balance threshold."""
    await route(update, context, "batas")


async def isi(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete the message holding the token, then ask to confirm the top-up."""
    message = update.effective_message
    if message is not None and context.args:
        await delete_token_message(message)
    await route(update, context, "isi")


async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Take a pasted token as /isi; point other text (in a private chat) to /bantuan."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or message.text is None or chat is None:
        return
    state = bot_state(context.application)
    args = token_args(message.text, state)
    if args is not None:
        await delete_token_message(message)
        await route(update, context, "isi", args)
    elif chat.type == ChatType.PRIVATE:  # in a group, people talk to each other
        await context.bot.send_message(chat_id=chat.id, text=say(state.lang, "unknown_text"))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point a command the bot does not know to /bantuan (unless it is for another bot)."""
    message = update.effective_message
    if message is None or message.text is None or update.effective_chat is None:
        return
    command, _, addressee = message.text.split()[0].partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return
    state = bot_state(context.application)
    await context.bot.send_message(
        chat_id=update.effective_chat.id,
        text=say(state.lang, "unknown_command", command=command[:33]),
    )


def token_args(text: str, state: BotState) -> list[str] | None:
    """The /isi arguments of a message that is a token, optionally after a meter id.

    Digit groups may be split by spaces, dashes or dots. A message of at least
    ``MIN_TOKEN_DIGITS`` digits counts even when the length is wrong, so that it
    is deleted and refused with the reason like ``/isi``. None for any other text.
    """
    words = text.split()

    def digits_of(groups: list[str]) -> int:
        if not groups or not all(_DIGIT_GROUP.fullmatch(g) for g in groups):
            return 0
        return sum(c.isdigit() for c in "".join(groups))

    whole = digits_of(words)
    if whole == TOKEN_DIGITS:
        return ["".join(words)]
    after_meter = digits_of(words[1:]) if len(words) > 1 else 0
    if after_meter >= MIN_TOKEN_DIGITS and state.meter(words[0]) is not None:
        return [words[0], "".join(words[1:])]
    return ["".join(words)] if whole >= MIN_TOKEN_DIGITS else None


async def delete_token_message(message: Message) -> None:
    """Remove a user's message that holds token digits (needs admin rights in a group)."""
    try:
        await message.delete()
    except TelegramError as err:
        log.info("could not delete the token message in chat %s: %s", message.chat_id, err)


async def route(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    command: str,
    args: list[str] | None = None,
) -> None:
    """Find the meter in the arguments (the command's, unless given), or ask for it
    with buttons, then run. Only the meters the chat may see are found or offered."""
    if update.effective_chat is None:
        return
    state = bot_state(context.application)
    call = Call(context.bot, state, update.effective_chat.id)
    args = list(context.args or []) if args is None else list(args)
    visible = state.visible_indices(call.chat_id)
    meter = state.meter(args[0]) if args else None
    found = None  # a name search: "/cektoken kamar 1" offers the meters named so
    if meter is not None:  # one the chat may not use is refused by run, with the reason
        args = args[1:]
    elif len(visible) == 1:
        meter = state.meters[visible[0]]
    elif args and any(c.isalpha() for c in args[0]):
        for words in range(len(args), 0, -1):  # the longest leading words that match
            named = search_meters(state.meters, " ".join(args[:words]))
            found = [i for i in named if i in visible] or None
            if found is not None:
                args = args[words:]
                meter = state.meters[found[0]] if len(found) == 1 else None
                break
    if meter is None:
        if args and not RUNNERS[command].takes_args and found is None:
            await run(call, command, None, args)
            return
        if not visible:
            await call.say(say(state.lang, "no_meters"))
            return
        shown = found if found is not None else visible
        key = state.keep_choice(PendingChoice(call.chat_id, command, args, indices=shown))
        await context.bot.send_message(
            chat_id=call.chat_id,
            text=say(state.lang, "choose_meter"),
            reply_markup=meter_choice(key, state.meters, indices=shown, lang=state.lang),
        )
        return
    await run(call, command, meter, args)


async def run(call: Call, command: str, meter: Meter | None, args: list[str]) -> None:
    """Run a command the chat may run on this meter; a domain error becomes one plain
    sentence in the chat."""
    try:
        refuse_extra(command, args)
        if meter is None:
            return
        if not call.state.can_use(call.chat_id, meter.id):
            log.info("telegram /%s refused: chat %s has no access", command, call.chat_id)
            await call.say(say(call.lang, "not_your_meter", meter=meter.name))
            return
        if owner_only(command, args) and not call.state.is_owner(call.chat_id):
            log.info("telegram /%s refused: chat %s is no owner", command, call.chat_id)
            await call.say(say(call.lang, "owner_only"))
            return
        await RUNNERS[command].run(call, meter, args)
    except TokenmeterError as err:
        log.info("telegram /%s refused: %s", command, err.code)
        await call.say(error_sentence(err, call.lang))


async def choose_meter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Run the command that waited for this meter button."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    await query.answer()
    state = bot_state(context.application)
    _, key, index = parse_callback(query.data)
    if index.startswith("p") and index[1:].isdigit():  # another page of buttons
        pending = state.peek_choice(key, update.effective_chat.id)
        if pending is None:
            await query.edit_message_text(say(state.lang, "choice_expired"))
            return
        markup = meter_choice(
            key, state.meters, page=int(index[1:]), indices=pending.indices, lang=state.lang
        )
        await query.edit_message_reply_markup(reply_markup=markup)
        return
    choice = state.take_choice(key, update.effective_chat.id)
    meter = _meter_at(state, index)
    if choice is None or meter is None:
        await query.edit_message_text(say(state.lang, "choice_expired"))
        return
    await query.edit_message_text(say(state.lang, "chosen_meter", meter=meter.name))
    await run(Call(context.bot, state, choice.chat_id), choice.command, meter, choice.args)


async def confirm_topup(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """On "Ya, isi" start the top-up and follow it in the same message; on "Batal" drop it."""
    query = update.callback_query
    if query is None or update.effective_chat is None or query.message is None:
        return
    await query.answer()
    state = bot_state(context.application)
    _, answer, key = parse_callback(query.data)
    pending = state.take_topup(key, update.effective_chat.id)
    if pending is None:
        await query.edit_message_text(say(state.lang, "topup_expired"))
        return
    meter = state.meter(pending.meter_id, pending.chat_id)  # access may have been taken back
    masked = mask_token(pending.digits)
    if answer != "ya" or meter is None:
        await query.edit_message_text(say(state.lang, "topup_cancelled", masked=masked))
        return
    await query.edit_message_text(say(state.lang, "topup_starting", masked=masked))
    try:
        topup = await state.deps.topups.start(meter.id, pending.digits, "telegram")
    except TokenmeterError as err:
        log.info("telegram top-up refused: %s", err.code)
        await query.edit_message_text(error_sentence(err, state.lang))
        return
    finally:
        pending.digits = ""
    log.info("telegram top-up %s started for %s (%s)", topup.id, meter.id, topup.masked)
    progress = state.progress
    async with progress.lock(topup.id):
        progress.attach(topup.id, pending.chat_id, query.message.message_id)
        await progress.show(context.bot, topup, lambda t: topup_text(meter, t, state.lang))
        await progress.keep(state.deps.store, topup)


def _meter_at(state: BotState, index: str) -> Meter | None:
    if not index.isdigit() or int(index) >= len(state.meters):
        return None
    return state.meters[int(index)]
