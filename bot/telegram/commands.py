"""What each command does once its meter is known. The handlers route here.

Every runner gets the ``Call`` (bot, state, chat), the meter and the remaining
arguments; blocking work (store calls, chart rendering) goes to a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta

from telegram import Bot
from telegram.constants import ChatAction, ParseMode
from telegram.error import TelegramError

from bot.telegram.charts import chart_title, render_chart, usable
from bot.telegram.keyboards import topup_confirmation
from bot.telegram.profile_commands import correct_reading, setup_camera
from bot.telegram.state import BotState, PendingTopUp
from bot.telegram.texts import format_number, say
from bot.telegram.views import history_html, outcome_caption, schedule_text, status_text
from tokenmeter.domain import Meter, Schedule, TopUpStatus, mask_token, utcnow
from tokenmeter.errors import UnknownMeter
from tokenmeter.texts import Lang, format_kwh

log = logging.getLogger(__name__)

HISTORY_DEFAULT, HISTORY_MOST = 10, 50
CHART_DEFAULT_DAYS, CHART_MOST_DAYS = 7, 90
LIMIT_MOST_KWH = 1000.0
CHAT_ACTION_EVERY_S = 4.5  # Telegram shows an action for about 5 s
_SCHEDULE_OFF = {"mati", "off", "nonaktif"}
_SCHEDULE_ON = {"aktif", "on", "hidup"}


@dataclass(frozen=True)
class Call:
    """Who asked and where the answer goes."""

    bot: Bot
    state: BotState
    chat_id: int

    @property
    def lang(self) -> Lang:
        return self.state.lang

    async def say(self, text: str, parse_mode: str | None = None) -> None:
        await self.bot.send_message(chat_id=self.chat_id, text=text, parse_mode=parse_mode)


@contextlib.asynccontextmanager
async def chat_action(bot: Bot, chat_id: int, action: str) -> AsyncIterator[None]:
    """Show ``action`` ("sending photo…") in the chat until the block ends."""

    async def keep_showing() -> None:
        while True:
            try:
                await bot.send_chat_action(chat_id=chat_id, action=action)
            except TelegramError as err:
                log.debug("chat action for %s failed: %s", chat_id, err)
            await asyncio.sleep(CHAT_ACTION_EVERY_S)

    task = asyncio.create_task(keep_showing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def check_now(call: Call, meter: Meter, args: list[str]) -> None:
    """Photograph and read the meter; answer with the photo and the figures."""
    state = call.state
    if state.checks.busy(meter.id, call.chat_id):
        await call.say(say(call.lang, "check_busy", meter=meter.name))
        return
    async with chat_action(call.bot, call.chat_id, ChatAction.UPLOAD_PHOTO):
        outcome = await state.checks.run(
            meter.id, call.chat_id, lambda: state.deps.checker.check(meter.id, "telegram")
        )
    caption = outcome_caption(outcome, call.lang)
    if outcome.photo:
        await call.bot.send_photo(chat_id=call.chat_id, photo=outcome.photo, caption=caption)
    else:
        await call.say(caption)


async def show_status(call: Call, meter: Meter, args: list[str]) -> None:
    """Send the last stored reading with its age and the devices' states."""
    store = call.state.deps.store
    latest = await asyncio.to_thread(store.latest_reading, meter.id)
    devices = await asyncio.to_thread(store.get_device_statuses, meter.id)
    await call.say(status_text(meter, latest, devices, call.lang))


async def show_history(call: Call, meter: Meter, args: list[str]) -> None:
    """Send the last n readings as a monospace table."""
    count = _whole_number(args, HISTORY_DEFAULT, HISTORY_MOST)
    if count is None:
        await call.say(say(call.lang, "bad_count", most=HISTORY_MOST))
        return
    readings = await asyncio.to_thread(call.state.deps.store.last_readings, meter.id, count)
    if not readings:
        await call.say(say(call.lang, "history_empty", meter=meter.name))
        return
    await call.say(history_html(meter, readings, call.lang), parse_mode=ParseMode.HTML)


async def send_chart(call: Call, meter: Meter, args: list[str]) -> None:
    """Send a PNG of the balance over the last days with top-ups, the low-balance
    threshold and daily usage; its title names the span the readings really cover."""
    days = _whole_number(args, CHART_DEFAULT_DAYS, CHART_MOST_DAYS)
    if days is None:
        await call.say(say(call.lang, "bad_days", most=CHART_MOST_DAYS))
        return
    store = call.state.deps.store
    end = utcnow()
    start = end - timedelta(days=days)
    readings = usable(await asyncio.to_thread(store.readings_between, meter.id, start, end))
    if not readings:
        await call.say(say(call.lang, "chart_empty", days=days, meter=meter.name))
        return
    stored = await asyncio.to_thread(store.get_meter, meter.id) or meter
    typed = frozenset({TopUpStatus.CONFIRMED, TopUpStatus.UNCONFIRMED})
    topups = await asyncio.to_thread(store.list_topups, meter.id, typed)
    topups = [t for t in topups if start <= t.ts <= end]
    caption = chart_title(meter.name, readings, meter.timezone, call.lang)
    async with chat_action(call.bot, call.chat_id, ChatAction.UPLOAD_PHOTO):
        png = await asyncio.to_thread(
            render_chart, readings, topups, meter.timezone, call.lang, caption, stored.low_kwh
        )
        await call.bot.send_photo(chat_id=call.chat_id, photo=png, caption=caption)


async def schedule(call: Call, meter: Meter, args: list[str]) -> None:
    """Show the check times, or set them (``06:00 18:00``, ``mati``, ``aktif``)."""
    store = call.state.deps.store
    current = await asyncio.to_thread(store.get_schedule, meter.id)
    if not args:
        await call.say(schedule_text(meter, current, call.lang))
        return
    words = {a.lower() for a in args}
    if words <= _SCHEDULE_OFF or words <= _SCHEDULE_ON:
        times = current.times if current else ()
        updated = Schedule(times=times, enabled=words <= _SCHEDULE_ON)
    else:
        updated = Schedule.parse(args)  # InvalidSchedule -> a plain sentence
    await asyncio.to_thread(store.set_schedule, meter.id, updated)
    await call.say(schedule_text(meter, updated, call.lang, key="schedule_saved"))


async def ask_topup(call: Call, meter: Meter, args: list[str]) -> None:
    """Validate a token and ask "Ya, isi / Batal", showing only the masked token."""
    raw = "".join(args)
    if not raw:
        await call.say(say(call.lang, "topup_usage"))
        return
    # A bad token or one used before on this meter is refused now, before "Ya, isi".
    digits = await call.state.deps.topups.check_token(meter.id, raw)  # InvalidToken
    key = call.state.keep_topup(PendingTopUp(call.chat_id, meter.id, digits))
    await call.bot.send_message(
        chat_id=call.chat_id,
        text=say(call.lang, "topup_confirm", meter=meter.name, masked=mask_token(digits)),
        reply_markup=topup_confirmation(key, call.lang),
    )


async def low_limit(call: Call, meter: Meter, args: list[str]) -> None:
    """Show or set the low-balance alert threshold in kWh."""
    store = call.state.deps.store
    stored = await asyncio.to_thread(store.get_meter, meter.id) or meter
    if not args:
        await call.say(
            say(
                call.lang, "limit_show", meter=meter.name, kwh=format_kwh(stored.low_kwh, call.lang)
            )
        )
        return
    value = _kwh(args[0])
    if value is None or len(args) > 1:
        await call.say(
            say(call.lang, "bad_limit", most=format_number(LIMIT_MOST_KWH, 0, call.lang))
        )
        return
    await asyncio.to_thread(store.put_meter, replace(stored, low_kwh=value))
    await call.say(
        say(call.lang, "limit_saved", meter=meter.name, kwh=format_kwh(value, call.lang))
    )


Runner = Callable[[Call, Meter, list[str]], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    run: Runner
    takes_args: bool  # False: any word after the meter is an unknown meter id


RUNNERS: dict[str, Command] = {
    "cektoken": Command(check_now, takes_args=False),
    "status": Command(show_status, takes_args=False),
    "riwayat": Command(show_history, takes_args=True),
    "grafik": Command(send_chart, takes_args=True),
    "jadwal": Command(schedule, takes_args=True),
    "isi": Command(ask_topup, takes_args=True),
    "batas": Command(low_limit, takes_args=True),
    "atur": Command(setup_camera, takes_args=False),
    "koreksi": Command(correct_reading, takes_args=True),
}


OWNER_ONLY = frozenset({"atur", "koreksi"})  # the camera setup and the readings themselves
OWNER_SETS = frozenset({"jadwal", "batas"})  # everyone may look; only owners change them


def owner_only(command: str, args: list[str]) -> bool:
    """Whether only an owner may run this (a tenant sees and tops up its meters)."""
    return command in OWNER_ONLY or (command in OWNER_SETS and bool(args))


def refuse_extra(command: str, args: list[str]) -> None:
    """Raise UnknownMeter when a meter-only command got a word that is not a meter."""
    if args and not RUNNERS[command].takes_args:
        raise UnknownMeter(args[0], meter=args[0])


def _whole_number(args: list[str], default: int, most: int) -> int | None:
    if not args:
        return default
    if len(args) > 1 or not args[0].isdigit():
        return None
    value = int(args[0])
    return value if 1 <= value <= most else None


def _kwh(text: str) -> float | None:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return None
    return value if 0 <= value <= LIMIT_MOST_KWH else None
