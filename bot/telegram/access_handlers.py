"""``/akses`` (``/access``): an owner lists who may use which meter, and gives or takes
back a tenant's meter. Changes go to the store (``tokenmeter.access.AccessBook``);
what the config file says stays and is changed in the file."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.telegram.state import BotState, bot_state
from bot.telegram.texts import say
from tokenmeter.access import AccessRefused, Person
from tokenmeter.errors import TokenmeterError, UnknownMeter
from tokenmeter.texts import error_sentence

log = logging.getLogger(__name__)

ADD_WORDS = frozenset({"tambah", "add"})
REMOVE_WORDS = frozenset({"hapus", "remove"})


async def akses(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the owners and tenants, or (owners only) add or remove a tenant's meter."""
    chat = update.effective_chat
    if chat is None:
        return
    state = bot_state(context.application)
    args = list(context.args or [])
    text = await answer(state, chat.id, args)
    await context.bot.send_message(chat_id=chat.id, text=text)


async def answer(state: BotState, chat_id: int, args: list[str]) -> str:
    """What ``/akses <args>`` from ``chat_id`` does, as the sentence to send."""
    lang = state.lang
    if not state.is_owner(chat_id):
        return say(lang, "owner_only")
    if not args:
        await asyncio.to_thread(state.access.load)
        return listing(state)
    verb = args[0].lower()
    target = _chat_id(args[1]) if len(args) >= 2 else None
    adding = verb in ADD_WORDS and len(args) >= 3
    removing = verb in REMOVE_WORDS and len(args) in (2, 3)
    if target is None or not (adding or removing):
        return say(lang, "access_usage")
    meter = state.meter(args[2]) if len(args) >= 3 else None
    if len(args) >= 3 and meter is None:
        return error_sentence(UnknownMeter(args[2], meter=args[2]), lang)
    try:
        if adding and meter is not None:
            name = " ".join(args[3:])[:40]
            person = await asyncio.to_thread(state.access.grant, target, meter.id, name)
            log.info("telegram /akses: chat %s gave chat %s meter %s", chat_id, target, meter.id)
            suffix = f" ({person.name})" if person.name else ""
            return say(
                lang, "access_granted", chat_id=target, name=suffix, meters=_names(state, person)
            )
        await asyncio.to_thread(state.access.revoke, target, meter.id if meter else None)
    except AccessRefused as err:
        return say(lang, f"access_refused_{err.reason}", chat_id=target)
    except TokenmeterError as err:
        log.info("telegram /akses refused: %s", err.code)
        return error_sentence(err, lang)
    log.info("telegram /akses: chat %s took back %s from chat %s", chat_id, args[2:], target)
    remaining = state.access.current.person(target)  # the file's meters may stay
    return say(lang, "access_revoked", chat_id=target, meters=_names(state, remaining))


def listing(state: BotState) -> str:
    """The owners and the tenants with their meters; meters the file gives are marked."""
    lang = state.lang
    access = state.access.current
    from_file: dict[int, frozenset[str]] = {}
    for person in state.access.base:
        from_file[person.chat_id] = from_file.get(person.chat_id, frozenset()) | person.meters
    owners = [_who(p) for p in access.people.values() if p.is_owner]
    tenants = []
    for person in sorted(access.people.values(), key=lambda p: p.chat_id):
        if person.is_owner:
            continue
        mark = f" [{say(lang, 'access_from_file')}]"
        meters = ", ".join(
            state.meter_name(m) + (mark if m in from_file.get(person.chat_id, ()) else "")
            for m in sorted(person.meters)
        )
        tenants.append(f"• {_who(person)}: {meters}")
    none = say(lang, "access_none")
    return say(
        lang,
        "access_list",
        owners=", ".join(sorted(owners)) or none,
        tenants="\n".join(tenants) or none,
    )


def _who(person: Person) -> str:
    return f"{person.chat_id} ({person.name})" if person.name else str(person.chat_id)


def _names(state: BotState, person: Person | None) -> str:
    if person is None or not person.meters:
        return say(state.lang, "access_none")
    return ", ".join(state.meter_name(m) for m in sorted(person.meters))


def _chat_id(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
