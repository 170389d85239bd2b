"""Message texts: captions, status, history, top-up states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.telegram.views import history_html, outcome_caption, status_text, topup_text
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    TopUp,
    TopUpStatus,
    utcnow,
)
from tokenmeter.events import CheckOutcome

METER = Meter("rumah", "Rumah", low_kwh=10.0)
TS = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 06:00 on the 21st in Jakarta


def ok(kwh: float, ts: datetime = TS, source: str = "telegram") -> Reading:
    return Reading("r1", "rumah", ts, kwh, f"{kwh}", 0.98, source, ReadingStatus.OK)


def test_caption_has_balance_change_rate_and_days_left_in_indonesian() -> None:
    """The caption uses the decimal comma and says change, kWh/day and days left."""
    previous = ok(125.65, TS - timedelta(hours=12))
    outcome = CheckOutcome(
        METER, ok(123.45), previous=previous, change_kwh=-2.2, kwh_per_day=5.1, days_left=24.2
    )
    assert outcome_caption(outcome, "id") == (
        "Rumah · 21/11 06:00\n"
        "Sisa token: 123,45 kWh\n"
        "Sejak cek terakhir: −2,20 kWh (12 jam lalu)\n"
        "Pemakaian: 5,10 kWh/hari\n"
        "Perkiraan habis: ±24 hari lagi"
    )


def test_caption_warns_when_low_and_in_english() -> None:
    """A low balance adds the warning; English uses the decimal point."""
    outcome = CheckOutcome(METER, ok(8.5), low=True, days_left=1.6)
    caption = outcome_caption(outcome, "en")
    assert "Remaining: 8.50 kWh" in caption
    assert "about 1.6 days" in caption and "Below the 10.00 kWh threshold" in caption


def test_unreadable_and_camera_errors_are_plain_sentences() -> None:
    """A failed check never shows a number, only what happened."""
    unreadable = Reading("r", "rumah", TS, None, "", 0.1, "telegram", ReadingStatus.UNREADABLE)
    no_camera = Reading("r", "rumah", TS, None, "", 0, "telegram", ReadingStatus.CAMERA_ERROR)
    assert "tidak terbaca" in outcome_caption(CheckOutcome(METER, unreadable), "id")
    assert "Kamera tidak bisa dihubungi" in outcome_caption(CheckOutcome(METER, no_camera), "id")
    assert "kWh" not in outcome_caption(CheckOutcome(METER, no_camera), "id")


def test_status_names_devices_and_their_state() -> None:
    """/status lists each device online or offline since when."""
    devices = [DeviceStatus("keypad", True, utcnow()), DeviceStatus("camera", False, TS)]
    text = status_text(METER, ok(50.0, utcnow() - timedelta(minutes=5)), devices, "id")
    assert "Sisa token: 50,00 kWh" in text and "5 menit lalu" in text
    assert "kamera offline sejak 21/11 06:00 · keypad online" in text


def test_history_escapes_and_marks_failed_readings() -> None:
    """The table is HTML-escaped and a failed reading shows a dash and a mark."""
    failed = Reading("r2", "rumah", TS, None, "", 0, "<cli>", ReadingStatus.UNREADABLE)
    text = history_html(Meter("a", "A&B"), [ok(1.5), failed], "id")
    assert "A&amp;B" in text and "&lt;cli&gt;" in text
    rows = text.split("<pre>")[1].split("</pre>")[0].splitlines()[1:]  # after the header
    assert rows[0].split()[2:] == ["-✗", "&lt;cli&gt;"] and "1,50" in rows[1]


def test_topup_texts_show_credit_and_only_the_masked_token() -> None:
    """A confirmed top-up says the credit added; no state shows more than 4 digits."""
    topup = TopUp(
        "t1",
        "rumah",
        TS,
        "****-****-****-****-1234",
        "h",
        TopUpStatus.CONFIRMED,
        "telegram",
        before=10.0,
        after=62.5,
    )
    assert topup_text(METER, topup, "id") == (
        "Rumah: ✅ Token ****-****-****-****-1234 berhasil. Tambahan 52,50 kWh (10,00 → 62,50 kWh)."
    )
    for status in TopUpStatus:
        assert "****-1234" in topup_text(METER, TopUp(**{**topup.__dict__, "status": status}), "en")
