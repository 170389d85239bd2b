"""Messages that show a top-up's progress, edited in place as ``TopUpChanged`` arrives;
the final state is also sent as a new message, since an edit does not notify.

The messages of a top-up still open are kept in the store (``keep``), so that a
restarted service finds them (``recall``) and edits them to the state the top-up
reached meanwhile; they are removed from the store once the final state is shown."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

from tokenmeter.domain import FINAL_TOPUP_STATUSES, TopUp, TopUpStatus

if TYPE_CHECKING:
    from tokenmeter.store.base import Store

CAPTION_LIMIT = 1024  # Telegram's photo caption limit

log = logging.getLogger(__name__)


class TopUpProgress:
    """Which chat messages show which top-up, and the most advanced state seen.

    Events may arrive before the handler has attached its message (the service
    starts working at once); the latest state is remembered and shown on attach.
    """

    def __init__(self, keep: int = 500) -> None:
        self._keep = keep
        self._latest: OrderedDict[str, TopUp] = OrderedDict()
        self._messages: dict[str, list[tuple[int, int]]] = {}
        self._shown: dict[tuple[int, int], str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._kept: dict[str, dict[int, int]] = {}  # what the store holds, per top-up
        self._recalled: set[str] = set()  # top-ups whose kept messages were looked up

    def lock(self, topup_id: str) -> asyncio.Lock:
        """Serialises sends and edits for one top-up."""
        return self._locks.setdefault(topup_id, asyncio.Lock())

    def attach(self, topup_id: str, chat_id: int, message_id: int, shown: str = "") -> None:
        self._messages.setdefault(topup_id, []).append((chat_id, message_id))
        if shown:
            self._shown[(chat_id, message_id)] = shown

    def attached(self, topup_id: str) -> bool:
        return bool(self._messages.get(topup_id))

    def newest(self, topup: TopUp) -> TopUp:
        """Remember ``topup`` unless a later state is known; return the latest."""
        known = self._latest.get(topup.id)
        if known is not None and len(known.history) > len(topup.history):
            return known
        self._latest[topup.id] = topup
        self._latest.move_to_end(topup.id)
        while len(self._latest) > self._keep:
            old, _ = self._latest.popitem(last=False)
            for key in self._messages.pop(old, []):
                self._shown.pop(key, None)
            self._locks.pop(old, None)
            self._kept.pop(old, None)
            self._recalled.discard(old)
        return topup

    def messages(self, topup_id: str) -> dict[int, int]:
        """The attached messages, chat id → message id."""
        return dict(self._messages.get(topup_id, []))

    async def recall(self, store: Store, meter_id: str, topup_id: str) -> None:
        """Attach the messages an earlier run of the service kept for the top-up, once
        per top-up and only when none is attached (call under ``lock``). They are edited
        by the next ``show``, whatever they showed."""
        if topup_id in self._recalled or self.attached(topup_id):
            return
        self._recalled.add(topup_id)
        try:
            kept = (await asyncio.to_thread(store.topup_messages, meter_id)).get(topup_id, {})
        except Exception as err:  # a store that fails costs the edit, never the event
            log.warning("kept messages of top-up %s not read: %s", topup_id, err)
            return
        for chat_id, message_id in kept.items():
            self.attach(topup_id, chat_id, message_id)
        self._kept[topup_id] = dict(kept)

    async def keep(self, store: Store, topup: TopUp) -> None:
        """Keep the attached messages of an open top-up in the store; remove them once
        its final state is shown (call under ``lock``, after ``show``)."""
        latest = self.newest(topup)
        wanted = {} if latest.status in FINAL_TOPUP_STATUSES else self.messages(latest.id)
        if self._kept.get(latest.id, {}) == wanted:
            return
        try:
            await asyncio.to_thread(store.set_topup_messages, latest.meter_id, latest.id, wanted)
        except Exception as err:  # a store that fails costs the edit after a restart
            log.warning("messages of top-up %s not kept: %s", latest.id, err)
            return
        self._kept[latest.id] = wanted

    async def show(self, bot: Bot, topup: TopUp, render: Callable[[TopUp], str]) -> None:
        """Edit every attached message to the latest state (call under ``lock``).

        An edit does not make the phone ring, so a final state is also sent as a new
        message in reply to each message that had to be edited to it (with the photo
        of the display when unconfirmed)."""
        latest = self.newest(topup)
        text = render(latest)
        edited: list[tuple[int, int]] = []
        for chat_id, message_id in list(self._messages.get(latest.id, [])):
            if self._shown.get((chat_id, message_id)) == text:
                continue
            try:
                await bot.edit_message_text(chat_id=chat_id, message_id=message_id, text=text)
            except BadRequest as err:
                if "not modified" not in str(err).lower():
                    log.warning("could not edit top-up message in chat %s: %s", chat_id, err)
            except TelegramError as err:
                log.warning("could not edit top-up message in chat %s: %s", chat_id, err)
            self._shown[(chat_id, message_id)] = text
            edited.append((chat_id, message_id))
        if latest.status in FINAL_TOPUP_STATUSES and edited:
            await self._send_outcome(bot, latest, text, edited)

    async def _send_outcome(
        self, bot: Bot, topup: TopUp, text: str, messages: list[tuple[int, int]]
    ) -> None:
        photo: bytes | None = None
        if topup.status == TopUpStatus.UNCONFIRMED and topup.photo:
            try:
                photo = await asyncio.to_thread(Path(topup.photo).read_bytes)
            except OSError as err:
                log.warning("top-up %s photo %s not readable: %s", topup.id, topup.photo, err)
        file_id: str | None = None  # the photo is uploaded once, then re-used
        for chat_id, message_id in messages:
            reply = ReplyParameters(message_id, allow_sending_without_reply=True)
            try:
                if photo is None:
                    await bot.send_message(chat_id=chat_id, text=text, reply_parameters=reply)
                    continue
                sent = await bot.send_photo(
                    chat_id=chat_id,
                    photo=file_id or photo,
                    caption=text[:CAPTION_LIMIT],
                    reply_parameters=reply,
                )
                if sent.photo:
                    file_id = sent.photo[-1].file_id
            except TelegramError as err:
                log.warning("could not send the top-up result to chat %s: %s", chat_id, err)
