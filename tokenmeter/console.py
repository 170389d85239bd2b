"""Console notifications: one short line per event (Indonesian or English), tokens masked.

Used when no Telegram token is set, and by the command line.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tokenmeter.domain import ReadingStatus, TopUp, TopUpStatus
from tokenmeter.errors import CameraUnavailable, Unreadable
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
from tokenmeter.slot_summary import summary_text
from tokenmeter.texts import Lang, error_sentence, format_kwh, topup_no_answer

_WORDS: dict[str, dict[Lang, str]] = {
    "balance": {"id": "Sisa token {kwh} kWh", "en": "Balance {kwh} kWh"},
    "change": {
        "id": "{sign}{kwh} kWh sejak cek terakhir",
        "en": "{sign}{kwh} kWh since last check",
    },
    "per_day": {"id": "{kwh} kWh/hari", "en": "{kwh} kWh/day"},
    "days": {"id": "cukup ±{days} hari", "en": "about {days} days left"},
    "unverified": {
        "id": "Terbaca {kwh} kWh, tetapi tidak masuk akal; belum dipastikan.",
        "en": "Read {kwh} kWh, but it is not plausible; not verified.",
    },
    "low": {
        "id": "PERINGATAN: token hampir habis, {kwh} kWh (batas {limit} kWh).",
        "en": "WARNING: credit is low, {kwh} kWh (threshold {limit} kWh).",
    },
    "online": {"id": "Perangkat {device} online.", "en": "Device {device} is online."},
    "offline": {"id": "Perangkat {device} offline.", "en": "Device {device} is offline."},
    "long_offline": {
        "id": "Perangkat {device} masih offline. Periksa daya dan Wi-Fi.",
        "en": "Device {device} is still offline. Check power and Wi-Fi.",
    },
    "beep": {
        "id": "Meter berbunyi (tanda token hampir habis).",
        "en": "The meter is beeping (low credit).",
    },
}

_TOPUP: dict[TopUpStatus, dict[Lang, str]] = {
    TopUpStatus.PENDING: {"id": "Token {masked} diterima.", "en": "Token {masked} received."},
    TopUpStatus.QUEUED: {
        "id": "Token {masked} diantrekan: keypad offline, dikirim saat online.",
        "en": "Token {masked} queued: keypad offline, sent when it returns.",
    },
    TopUpStatus.SENT: {
        "id": "Token {masked} sedang diketik.",
        "en": "Token {masked} is being typed.",
    },
    TopUpStatus.CONFIRMED: {
        "id": "Token {masked} berhasil: +{credit} kWh, sisa {after} kWh.",
        "en": "Token {masked} confirmed: +{credit} kWh, balance {after} kWh.",
    },
    TopUpStatus.UNCONFIRMED: {
        "id": "Token {masked} sudah diketik, tetapi tambahan kWh belum terlihat. Periksa foto.",
        "en": "Token {masked} was typed, but the added credit was not seen. Check the photo.",
    },
    TopUpStatus.FAILED: {
        "id": "Token {masked} gagal diketik (kesalahan perangkat: {error}).",
        "en": "Token {masked} could not be typed (device error: {error}).",
    },
    TopUpStatus.EXPIRED: {
        "id": "Token {masked} tidak diketik (kedaluwarsa). Kirim lagi bila masih perlu.",
        "en": "Token {masked} was not typed (expired). Send it again if still needed.",
    },
}


def check_line(outcome: CheckOutcome, lang: Lang = "id") -> str:
    """One line for a check's outcome; failures in words, never as a number."""
    reading = outcome.reading
    head = f"[{outcome.meter.name}] "
    if reading.status is ReadingStatus.CAMERA_ERROR:
        return head + error_sentence(CameraUnavailable.from_reading_error(reading.error), lang)
    if reading.status is ReadingStatus.UNREADABLE or reading.kwh is None:
        return head + error_sentence(Unreadable(), lang)
    kwh = format_kwh(reading.kwh, lang)
    if reading.status is ReadingStatus.UNVERIFIED:
        return head + _WORDS["unverified"][lang].format(kwh=kwh)
    parts = [_WORDS["balance"][lang].format(kwh=kwh)]
    if outcome.change_kwh is not None:
        sign = "+" if outcome.change_kwh > 0 else ("−" if outcome.change_kwh < 0 else "±")
        change = format_kwh(abs(outcome.change_kwh), lang)
        parts.append(_WORDS["change"][lang].format(sign=sign, kwh=change))
    if outcome.kwh_per_day is not None:
        parts.append(_WORDS["per_day"][lang].format(kwh=format_kwh(outcome.kwh_per_day, lang)))
    if outcome.days_left is not None:
        parts.append(_WORDS["days"][lang].format(days=f"{outcome.days_left:.0f}"))
    return head + "; ".join(parts) + "."


def topup_line(name: str, topup: TopUp, lang: Lang = "id") -> str:
    """One line for a top-up's status; only the masked token appears."""
    if topup.status is TopUpStatus.SENT and topup.error == "no_answer":
        return f"[{name}] " + topup_no_answer(topup.masked, lang)
    template = _TOPUP[topup.status][lang]
    return f"[{name}] " + template.format(
        masked=topup.masked,
        credit=format_kwh(topup.credit, lang),
        after=format_kwh(topup.after, lang),
        error=topup.error or "-",
    )


def event_line(event: Event, lang: Lang = "id") -> str:
    """The line printed for any event."""
    if isinstance(event, CheckCompleted):
        return check_line(event.outcome, lang)
    if isinstance(event, LowBalance):
        meter = event.outcome.meter
        return f"[{meter.name}] " + _WORDS["low"][lang].format(
            kwh=format_kwh(event.outcome.reading.kwh, lang), limit=format_kwh(meter.low_kwh, lang)
        )
    if isinstance(event, TopUpChanged):
        return topup_line(event.meter.name, event.topup, lang)
    if isinstance(event, DeviceChanged):
        if event.long_offline:
            key = "long_offline"
        else:
            key = "online" if event.device.online else "offline"
        return f"[{event.meter_id}] " + _WORDS[key][lang].format(device=event.device.name)
    if isinstance(event, MeterBeep):
        return f"[{event.meter_id}] " + _WORDS["beep"][lang]
    if isinstance(event, SlotSummary):
        return summary_text(event, lang)
    return f"{type(event).__name__}"  # pragma: no cover - every event is handled above


class ConsoleNotifier:
    """A ``Notifier`` that prints one line per event."""

    def __init__(self, lang: Lang = "id", stream: TextIO | None = None) -> None:
        self.lang = lang
        self.stream = stream

    async def notify(self, event: Event) -> None:
        stream = self.stream or sys.stdout
        print(event_line(event, self.lang), file=stream, flush=True)
