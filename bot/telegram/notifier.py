"""Alerts pushed to the people of a meter and every owner (``tokenmeter.access``);
implements ``tokenmeter.events.Notifier``. A tenant never gets another room's news."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, InputMediaPhoto, Message
from telegram.error import TelegramError

from bot.telegram.app import BotApplication
from bot.telegram.state import BotState, bot_state
from bot.telegram.texts import say, source_name
from bot.telegram.views import offline_alert, outcome_caption, topup_text
from tokenmeter.domain import Meter, TopUp
from tokenmeter.events import (
    CheckCompleted,
    CheckOutcome,
    DeviceChanged,
    Event,
    LowBalance,
    MeterBeep,
    SlotSummary,
    TopUpChanged,
)
from tokenmeter.slot_summary import ALBUM_SIZE, attention_list, photo_caption, summary_text
from tokenmeter.texts import format_kwh

log = logging.getLogger(__name__)


class TelegramNotifier:
    """Low balance, scheduled check results, the meter's beep, devices long offline,
    and top-ups (edited into the message that started them, or announced when they
    came from another door; after a restart, into the messages kept in the store)."""

    def __init__(self, application: BotApplication) -> None:
        self._application = application

    @property
    def _state(self) -> BotState:
        return bot_state(self._application)

    @property
    def _bot(self) -> Bot:
        bot: Bot = self._application.bot
        return bot

    async def notify(self, event: Event) -> None:
        if not self._application.running:
            log.info("telegram bot not running: %s not sent", type(event).__name__)
            return
        state = self._state
        lang = state.lang
        if state.access.stale:
            await asyncio.to_thread(state.access.load)
        if isinstance(event, LowBalance):
            outcome = event.outcome
            await self._broadcast(
                outcome.meter.id,
                say(
                    lang,
                    "alert_low",
                    meter=outcome.meter.name,
                    kwh=format_kwh(outcome.reading.kwh, lang),
                    limit=format_kwh(outcome.meter.low_kwh, lang),
                ),
            )
        elif isinstance(event, CheckCompleted):
            if event.scheduled or event.outcome.reading.source == "schedule":
                await self._broadcast_outcome(event.outcome)
        elif isinstance(event, MeterBeep):
            await self._broadcast(
                event.meter_id, say(lang, "alert_beep", meter=state.meter_name(event.meter_id))
            )
        elif isinstance(event, DeviceChanged):
            if event.long_offline and not event.device.online:
                meter = state.meter(event.meter_id) or Meter(event.meter_id, event.meter_id)
                await self._broadcast(
                    meter.id, offline_alert(meter, event.device, state.offline_alert_minutes, lang)
                )
        elif isinstance(event, TopUpChanged):
            await self._topup_changed(event.meter, event.topup)
        elif isinstance(event, SlotSummary):
            await self._broadcast_summary(event)

    def _chats_for(self, meter_id: str) -> list[int]:
        """The meter's tenants and every owner."""
        return self._state.access.current.chats_for(meter_id)

    async def _broadcast(self, meter_id: str, text: str) -> None:
        await asyncio.gather(*(self._send(chat, text) for chat in self._chats_for(meter_id)))

    async def _send(self, chat_id: int, text: str) -> int | None:
        try:
            message = await self._bot.send_message(chat_id=chat_id, text=text)
        except TelegramError as err:
            log.warning("telegram alert to chat %s failed: %s", chat_id, err)
            return None
        return message.message_id

    async def _broadcast_outcome(self, outcome: CheckOutcome) -> None:
        lang = self._state.lang
        caption = outcome_caption(outcome, lang, header=say(lang, "scheduled") + " · ")
        if not outcome.photo:
            await self._broadcast(outcome.meter.id, caption)
            return
        file_id: str | None = None
        for chat_id in self._chats_for(outcome.meter.id):  # upload once, then reuse
            try:
                message = await self._bot.send_photo(
                    chat_id=chat_id, photo=file_id or outcome.photo, caption=caption
                )
            except TelegramError as err:
                log.warning("telegram check result to chat %s failed: %s", chat_id, err)
                continue
            if message.photo:
                file_id = message.photo[-1].file_id

    async def _broadcast_summary(self, summary: SlotSummary) -> None:
        """One message per chat about the meters it may see, then the photos of those
        that need attention as albums in reply to it (each photo uploaded once and reused
        for the other chats)."""
        lang = self._state.lang
        access = self._state.access.current
        told: dict[frozenset[str], tuple[str, list[CheckOutcome]]] = {}  # meters -> message
        file_ids: dict[str, str] = {}  # reading id -> Telegram file id
        for chat_id in access.chats():
            seen = tuple(o for o in summary.outcomes if access.can_use(chat_id, o.meter.id))
            if not seen:
                continue
            meters = frozenset(o.meter.id for o in seen)
            if meters not in told:
                part = SlotSummary(seen, summary.low_crossed & meters)
                photos = [i.outcome for i in attention_list(seen) if i.outcome.photo]
                told[meters] = (summary_text(part, lang), photos)
            text, photos = told[meters]
            message_id = await self._send(chat_id, text)
            if message_id is None:
                continue
            for start in range(0, len(photos), ALBUM_SIZE):
                album = photos[start : start + ALBUM_SIZE]
                if not await self._send_album(chat_id, message_id, album, file_ids):
                    break

    async def _send_album(
        self,
        chat_id: int,
        reply_to: int,
        album: list[CheckOutcome],
        file_ids: dict[str, str],
    ) -> bool:
        """Send photos in reply to ``reply_to`` (one alone: a media group needs two);
        remember their file ids. False when Telegram refused."""
        lang = self._state.lang

        def photo(outcome: CheckOutcome) -> str | bytes:
            return file_ids.get(outcome.reading.id) or outcome.photo or b""

        try:
            if len(album) == 1:
                sent: tuple[Message, ...] = (
                    await self._bot.send_photo(
                        chat_id=chat_id,
                        photo=photo(album[0]),
                        caption=photo_caption(album[0], lang),
                        reply_to_message_id=reply_to,
                    ),
                )
            else:
                media = [InputMediaPhoto(photo(o), caption=photo_caption(o, lang)) for o in album]
                sent = await self._bot.send_media_group(
                    chat_id=chat_id, media=media, reply_to_message_id=reply_to
                )
        except TelegramError as err:
            log.warning("telegram summary photos to chat %s failed: %s", chat_id, err)
            return False
        for outcome, message in zip(album, sent, strict=False):
            if message.photo:
                file_ids[outcome.reading.id] = message.photo[-1].file_id
        return True

    async def _topup_changed(self, meter: Meter, topup: TopUp) -> None:
        state = self._state
        progress = state.progress
        lang = state.lang
        if topup.source == "telegram":

            def render(t: TopUp) -> str:
                return topup_text(meter, t, lang)

        else:
            origin = say(lang, "topup_from", source=source_name(topup.source, lang))

            def render(t: TopUp) -> str:
                return f"{origin}\n{topup_text(meter, t, lang)}"

        store = state.deps.store
        async with progress.lock(topup.id):
            await progress.recall(store, meter.id, topup.id)
            if topup.source != "telegram" and not progress.attached(topup.id):
                text = render(progress.newest(topup))
                for chat_id in self._chats_for(meter.id):
                    message_id = await self._send(chat_id, text)
                    if message_id is not None:
                        progress.attach(topup.id, chat_id, message_id, shown=text)
            await progress.show(self._bot, topup, render)
            await progress.keep(store, topup)

    async def bring_up_to_date(self) -> None:
        """Edit the progress messages an earlier run kept to the state their top-ups
        reached meanwhile (with the outcome as a new message for those that ended).
        Called once the bot runs: what changed before that was not sent."""
        state = self._state
        store = state.deps.store
        for meter in state.meters:
            try:
                kept = await asyncio.to_thread(store.topup_messages, meter.id)
            except Exception as err:  # the store is away: the next change edits them
                log.warning("kept top-up messages of %s not read: %s", meter.id, err)
                continue
            for topup_id in kept:
                try:
                    topup = await asyncio.to_thread(store.get_topup, meter.id, topup_id)
                    if topup is None:  # gone from the store: nothing to show
                        await asyncio.to_thread(store.set_topup_messages, meter.id, topup_id, {})
                        continue
                except Exception as err:
                    log.warning("top-up %s not brought up to date: %s", topup_id, err)
                    continue
                await self._topup_changed(meter, topup)
