"""Messages that show a top-up's progress, edited in place as ``TopUpChanged`` arrives."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from tokenmeter.domain import TopUp, TopUpStatus

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
        self._photo_sent: set[str] = set()
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
            self._photo_sent.discard(old)
        return topup

    async def show(self, bot: Bot, topup: TopUp, render: Callable[[TopUp], str]) -> None:
        """Edit every attached message to the latest state (call under ``lock``)."""
        latest = self.newest(topup)
        text = render(latest)
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
        if latest.status == TopUpStatus.UNCONFIRMED and latest.photo:
            await self._send_photo(bot, latest)

    async def _send_photo(self, bot: Bot, topup: TopUp) -> None:
        if topup.id in self._photo_sent:
            return
        self._photo_sent.add(topup.id)
        try:
            data = await asyncio.to_thread(Path(topup.photo).read_bytes)
        except OSError as err:
            log.warning("top-up %s photo %s not readable: %s", topup.id, topup.photo, err)
            return
        for chat_id, message_id in self._messages.get(topup.id, []):
            try:
                await bot.send_photo(chat_id=chat_id, photo=data, reply_to_message_id=message_id)
            except TelegramError as err:
                log.warning("could not send top-up photo to chat %s: %s", chat_id, err)
