"""Inline keyboards. ``callback_data`` holds only random keys, never a token."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.telegram.texts import say
from tokenmeter.domain import Meter
from tokenmeter.texts import Lang

CHOOSE_PREFIX = "pilih"
TOPUP_PREFIX = "isi"
CHOOSE_PATTERN = rf"^{CHOOSE_PREFIX}:"
TOPUP_PATTERN = rf"^{TOPUP_PREFIX}:"


PAGE_SIZE = 8  # meter buttons per page (four rows of two)


def meter_choice(
    key: str,
    meters: list[Meter],
    *,
    page: int = 0,
    indices: list[int] | None = None,
    lang: Lang = "id",
) -> InlineKeyboardMarkup:
    """Meter buttons, two per row, ``PAGE_SIZE`` per page with "‹" / "›" to turn pages.

    A button's data is ``pilih:<key>:<index>`` (the meter's place in ``meters``); a page
    button's ``pilih:<key>:p<page>``. ``indices``: only these meters (a name search)."""
    shown = list(range(len(meters))) if indices is None else indices
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    buttons = [
        InlineKeyboardButton(meters[i].name, callback_data=f"{CHOOSE_PREFIX}:{key}:{i}")
        for i in shown[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turn = []
    if page > 0:
        turn.append(
            InlineKeyboardButton(
                say(lang, "page_previous"), callback_data=f"{CHOOSE_PREFIX}:{key}:p{page - 1}"
            )
        )
    if page < pages - 1:
        turn.append(
            InlineKeyboardButton(
                say(lang, "page_next", page=page + 2, pages=pages),
                callback_data=f"{CHOOSE_PREFIX}:{key}:p{page + 1}",
            )
        )
    if turn:
        rows.append(turn)
    return InlineKeyboardMarkup(rows)


def search_meters(meters: list[Meter], words: str) -> list[int]:
    """Places in ``meters`` of those whose name or id contains ``words`` (any case)."""
    wanted = words.strip().lower()
    return [i for i, m in enumerate(meters) if wanted in m.name.lower() or wanted in m.id.lower()]


def topup_confirmation(key: str, lang: Lang) -> InlineKeyboardMarkup:
    """ "Ya, isi" / "Batal"; the data is ``isi:ya:<key>`` / ``isi:batal:<key>``."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    say(lang, "topup_yes"), callback_data=f"{TOPUP_PREFIX}:ya:{key}"
                ),
                InlineKeyboardButton(
                    say(lang, "topup_no"), callback_data=f"{TOPUP_PREFIX}:batal:{key}"
                ),
            ]
        ]
    )


def parse_callback(data: str | None) -> tuple[str, str, str]:
    """Split ``prefix:a:b`` into its three parts ("" where missing)."""
    parts = (data or "").split(":", 2)
    parts += [""] * (3 - len(parts))
    return parts[0], parts[1], parts[2]
