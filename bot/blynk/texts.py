"""What the Blynk app shows: status sentences (V1) and state names (V3), Indonesian or English.

Tokens appear masked only. The balance datastream (V2) gets a plain number so a
Blynk ``Double`` datastream accepts it.
"""

from __future__ import annotations

from tokenmeter.domain import TopUp, TopUpStatus
from tokenmeter.errors import TokenmeterError
from tokenmeter.texts import Lang, error_sentence, format_kwh, topup_no_answer

STATE_REJECTED = "REJECTED"
"""V3 when a token is refused before anything is typed."""
STATE_ERROR = "ERROR"
"""V3 when the top-up could not be started for another reason (store down, ...)."""

_TOPUP: dict[TopUpStatus, dict[Lang, str]] = {
    TopUpStatus.PENDING: {
        "id": "Token {masked} diterima. Menyiapkan pengisian...",
        "en": "Token {masked} received. Preparing the top-up...",
    },
    TopUpStatus.QUEUED: {
        "id": "Keypad sedang offline. Token {masked} diantrekan dan diketik saat online.",
        "en": "The keypad is offline. Token {masked} is queued and typed when it returns.",
    },
    TopUpStatus.SENT: {
        "id": "Token {masked} sedang diketik di meter...",
        "en": "Typing token {masked} on the meter...",
    },
    TopUpStatus.CONFIRMED: {
        "id": "Berhasil: token {masked} masuk.",
        "en": "Done: token {masked} was accepted.",
    },
    TopUpStatus.UNCONFIRMED: {
        "id": "Token {masked} sudah diketik, tetapi tambahan kWh belum terlihat. "
        "Periksa layar meter.",
        "en": "Token {masked} was typed, but the added kWh could not be seen yet. "
        "Check the meter display.",
    },
    TopUpStatus.FAILED: {
        "id": "Token {masked} gagal diketik: keypad melaporkan kesalahan. Periksa perangkatnya.",
        "en": "Token {masked} could not be typed: the keypad reported an error. Check the device.",
    },
    TopUpStatus.EXPIRED: {
        "id": "Token {masked} terlalu lama di antrean dan tidak diketik.",
        "en": "Token {masked} waited too long in the queue and was not typed.",
    },
}

_CREDIT: dict[Lang, str] = {
    "id": " Tambah {credit} kWh, sisa {after} kWh.",
    "en": " Added {credit} kWh, {after} kWh left.",
}

_ALERT: dict[str, dict[Lang, str]] = {
    "beep": {
        "id": "Meter berbunyi: token hampir habis.",
        "en": "The meter is beeping: the credit is almost gone.",
    },
    "offline": {
        "id": "Keypad masih offline. Periksa daya dan Wi-Fi.",
        "en": "The keypad is still offline. Check power and Wi-Fi.",
    },
}

_BALANCE: dict[Lang, str] = {
    "id": "Sisa token: {kwh} kWh.",
    "en": "Balance: {kwh} kWh.",
}


def topup_status_text(topup: TopUp, lang: Lang = "id") -> str:
    """One sentence for V1 describing where a top-up stands."""
    if topup.status is TopUpStatus.SENT and topup.error == "no_answer":
        return topup_no_answer(topup.masked, lang)
    text = _TOPUP[topup.status][lang].format(masked=topup.masked)
    if topup.status is TopUpStatus.CONFIRMED and topup.credit is not None:
        text += _CREDIT[lang].format(
            credit=format_kwh(topup.credit, lang), after=format_kwh(topup.after, lang)
        )
    return text


def refused_text(err: TokenmeterError, lang: Lang = "id") -> str:
    """V1 when a token was refused or the top-up could not start."""
    return error_sentence(err, lang)


def beep_text(lang: Lang = "id") -> str:
    """V1 when the meter's low-credit beep is heard (once per episode)."""
    return _ALERT["beep"][lang]


def offline_text(lang: Lang = "id") -> str:
    """V1 when the keypad stays offline longer than the alert limit (once per episode)."""
    return _ALERT["offline"][lang]


def balance_text(kwh: float, lang: Lang = "id") -> str:
    """V1 after a check: the balance in words."""
    return _BALANCE[lang].format(kwh=format_kwh(kwh, lang))


def balance_value(kwh: float) -> str:
    """V2: the balance as a plain number (``12.50``) for a Double datastream."""
    return f"{kwh:.2f}"
