"""The /grafik chart: daily usage figures and the PNG itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.telegram.charts import DailyUsage, daily_usage, render_chart
from tokenmeter.domain import Reading, ReadingStatus, TopUp, TopUpStatus

START = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)  # 07:00 in Jakarta


def reading(hours: float, kwh: float | None, status: ReadingStatus = ReadingStatus.OK) -> Reading:
    ts = START + timedelta(hours=hours)
    return Reading(f"r{hours}", "rumah", ts, kwh, "", 0.9, "schedule", status)


def test_daily_usage_sums_falls_per_local_day() -> None:
    """Falls are added up per Jakarta day; the rise of a top-up is not usage."""
    readings = [
        reading(0, 50.0),
        reading(6, 47.0),  # 13:00 on the 18th: 3 used
        reading(12, 46.0),  # 19:00: 1 used
        reading(24, 96.0),  # top-up in between: skipped
        reading(30, 92.5),  # 13:00 on the 19th: 3.5 used
        reading(31, None, ReadingStatus.UNREADABLE),  # ignored
    ]
    assert daily_usage(readings, "Asia/Jakarta") == [
        DailyUsage(date(2026, 11, 18), 4.0),
        DailyUsage(date(2026, 11, 19), 3.5),
    ]


def test_unverified_readings_are_not_drawn_as_usage() -> None:
    """An implausible (unverified) value does not make a usage bar."""
    readings = [reading(0, 50.0), reading(6, 10.0, ReadingStatus.UNVERIFIED), reading(12, 49.0)]
    assert daily_usage(readings, "Asia/Jakarta") == [DailyUsage(date(2026, 11, 18), 1.0)]


def test_render_chart_returns_a_png() -> None:
    """The chart renders to PNG bytes with top-ups and usage bars."""
    readings = [reading(h, 60 - h * 0.2) for h in range(0, 72, 6)]
    topup = TopUp(
        "t1",
        "rumah",
        START + timedelta(hours=30),
        "****-****-****-****-1234",
        "h",
        TopUpStatus.CONFIRMED,
        "telegram",
        before=54.0,
        after=104.0,
    )
    png = render_chart(readings, [topup], "Asia/Jakarta", "id", "Rumah: 3 hari")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
