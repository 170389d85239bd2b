"""``/ekspor`` (``/export``): a CSV of the month's records for every meter (or one)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.state import bot_state
from bot.telegram.texts import say
from tokenmeter.domain import Meter, utcnow
from tokenmeter.errors import UnknownMeter
from tokenmeter.export import build_export, export_csv, monthly_lines
from tokenmeter.texts import error_sentence

CAPTION_LIMIT = 1000  # Telegram's caption limit is 1024 characters


def local_today(meters: list[Meter], now: datetime | None = None) -> date:
    """Today where the (first) meter is: the export counts the meters' local days, so
    the month must not end at the UTC date (before 07:00 in Jakarta, yesterday)."""
    return (now or utcnow()).astimezone(ZoneInfo(meters[0].timezone)).date()


def month_span(args: list[str], today: date) -> tuple[date, date] | None:
    """The days to export: this month so far, ``YYYY-MM`` (that month), or
    ``YYYY-MM-DD YYYY-MM-DD``; None when the words are none of these."""
    try:
        if not args:
            return today.replace(day=1), today
        if len(args) == 1 and len(args[0]) == 7:
            first = date.fromisoformat(args[0] + "-01")
            following = (first + timedelta(days=32)).replace(day=1)
            return first, following - timedelta(days=1)
        if len(args) == 2:
            first, last = date.fromisoformat(args[0]), date.fromisoformat(args[1])
            return (first, last) if first <= last else None
    except ValueError:
        return None
    return None


async def ekspor(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the month's readings, daily usage, top-ups and monthly usage of the chat's
    meters as a CSV file."""
    if update.effective_chat is None:
        return
    state = bot_state(context.application)
    chat_id = update.effective_chat.id
    args = list(context.args or [])
    meters: list[Meter] = state.visible_meters(chat_id)
    if not meters:
        await context.bot.send_message(chat_id=chat_id, text=say(state.lang, "no_meters"))
        return
    if args and not args[0][:1].isdigit():
        meter = state.meter(args[0])
        if meter is not None and not state.can_use(chat_id, meter.id):
            text = say(state.lang, "not_your_meter", meter=meter.name)
            await context.bot.send_message(chat_id=chat_id, text=text)
            return
        if meter is None:
            text = error_sentence(UnknownMeter(args[0], meter=args[0]), state.lang)
            await context.bot.send_message(chat_id=chat_id, text=text)
            return
        meters, args = [meter], args[1:]
    span = month_span(args, local_today(meters))
    if span is None:
        await context.bot.send_message(chat_id=chat_id, text=say(state.lang, "export_usage"))
        return
    first, last = span
    tariff = state.deps.tariff_rp_per_kwh
    data = await asyncio.to_thread(build_export, state.deps.store, meters, first, last, tariff)
    caption = "\n".join(
        [
            say(state.lang, "export_caption", first=first, last=last),
            *monthly_lines(data, state.lang),
        ]
    )
    if len(caption) > CAPTION_LIMIT:
        caption = caption[: CAPTION_LIMIT - 1] + "…"
    name = f"tokenmeter-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    await context.bot.send_document(
        chat_id=chat_id,
        document=export_csv(data).encode("utf-8"),
        filename=name,
        caption=caption,
    )
