"""Tests for tokenmeter.console."""

from __future__ import annotations

import io
import re

from tokenmeter.console import ConsoleNotifier, check_line, event_line, topup_line
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    TopUp,
    TopUpStatus,
    mask_token,
    utcnow,
)
from tokenmeter.events import CheckOutcome, DeviceChanged, LowBalance, MeterBeep, TopUpChanged

METER = Meter("rumah", "Rumah", low_kwh=10.0)
TOKEN = "12345678901234567890"


def _outcome(status: ReadingStatus, kwh: float | None, **figures: object) -> CheckOutcome:
    reading = Reading("r1", "rumah", utcnow(), kwh, "", 0.9, "cli", status, error="")
    return CheckOutcome(METER, reading, **figures)  # type: ignore[arg-type]


def test_ok_check_line_has_the_figures() -> None:
    """Balance, change, kWh/day and days left, Indonesian number format."""
    line = check_line(
        _outcome(ReadingStatus.OK, 1234.5, change_kwh=-1.25, kwh_per_day=5.0, days_left=246.9)
    )
    assert line == (
        "[Rumah] Sisa token 1.234,50 kWh; −1,25 kWh sejak cek terakhir; "
        "5,00 kWh/hari; cukup ±247 hari."
    )
    assert check_line(_outcome(ReadingStatus.OK, 12.0), "en") == "[Rumah] Balance 12.00 kWh."


def test_failures_are_words_not_numbers() -> None:
    """Camera errors and unreadable displays give a sentence without digits."""
    for status in (ReadingStatus.CAMERA_ERROR, ReadingStatus.UNREADABLE):
        line = check_line(_outcome(status, None))
        assert "kWh" not in line and not re.search(r"\d[.,]\d", line)
    assert "tidak masuk akal" in check_line(_outcome(ReadingStatus.UNVERIFIED, 99.0))


def test_topup_lines_show_only_the_masked_token() -> None:
    """Every status line names the token masked; the digits never appear."""
    for status in TopUpStatus:
        topup = TopUp(
            "t1", "rumah", utcnow(), mask_token(TOKEN), "h", status, "cli", before=10.0, after=60.0
        )
        for lang in ("id", "en"):
            line = topup_line("Rumah", topup, lang)
            assert "****-****-****-****-7890" in line and TOKEN not in line
    confirmed = TopUp("t1", "rumah", utcnow(), "m", "h", TopUpStatus.CONFIRMED, "cli", 10.0, 60.0)
    assert "+50,00 kWh" in topup_line("Rumah", confirmed)


def test_sent_without_an_answer_is_not_called_typed() -> None:
    """SENT with no keypad answer says it is not known whether it was typed."""
    topup = TopUp(
        "t1", "rumah", utcnow(), mask_token(TOKEN), "h", TopUpStatus.SENT, "cli", error="no_answer"
    )
    line = topup_line("Rumah", topup, "en")
    assert "not known yet whether token ****-****-****-****-7890 was typed" in line
    assert "is being typed" not in line


async def test_notifier_prints_one_line_per_event() -> None:
    """Low balance, device, beep and top-up events each print one line."""
    out = io.StringIO()
    notifier = ConsoleNotifier("en", out)
    topup = TopUp("t1", "rumah", utcnow(), "****-****-****-****-7890", "h", TopUpStatus.QUEUED, "x")
    await notifier.notify(LowBalance(_outcome(ReadingStatus.OK, 8.0, low=True)))
    await notifier.notify(DeviceChanged("rumah", DeviceStatus("keypad", False, utcnow())))
    await notifier.notify(MeterBeep("rumah"))
    await notifier.notify(TopUpChanged(METER, topup))
    lines = out.getvalue().splitlines()
    assert lines == [
        "[Rumah] WARNING: credit is low, 8.00 kWh (threshold 10.00 kWh).",
        "[rumah] Device keypad is offline.",
        "[rumah] The meter is beeping (low credit).",
        "[Rumah] Token ****-****-****-****-7890 queued: keypad offline, sent when it returns.",
    ]
    assert event_line(MeterBeep("rumah")) == "[rumah] Meter berbunyi (tanda token hampir habis)."


def test_long_offline_has_its_own_line() -> None:
    """A keypad offline past the alert limit is told apart from merely going offline."""
    away = DeviceStatus("keypad", False, utcnow())
    assert event_line(DeviceChanged("rumah", away, long_offline=True)) == (
        "[rumah] Perangkat keypad masih offline. Periksa daya dan Wi-Fi."
    )
    assert event_line(DeviceChanged("rumah", away), "en") == "[rumah] Device keypad is offline."
