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


def meter_choice(key: str, meters: list[Meter]) -> InlineKeyboardMarkup:
    """One button per meter, two per row; the data is ``pilih:<key>:<index>``."""
    buttons = [
        InlineKeyboardButton(meter.name, callback_data=f"{CHOOSE_PREFIX}:{key}:{index}")
        for index, meter in enumerate(meters)
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


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
