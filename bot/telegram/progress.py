"""Messages that show a top-up's progress, edited in place as ``TopUpChanged`` arrives;
the final state is also sent as a new message, since an edit does not notify."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from telegram import Bot, ReplyParameters
from telegram.error import BadRequest, TelegramError

from tokenmeter.domain import FINAL_TOPUP_STATUSES, TopUp, TopUpStatus

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
        return topup

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
