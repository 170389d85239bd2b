"""Tests for bot.telegram.export's days: which days /ekspor covers (the whole command,
with a real bot, is in test_overview and test_access_handlers)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.telegram.export import local_today, month_span
from tokenmeter.domain import Meter


def test_today_is_the_meters_local_day() -> None:
    """00:30 in Jakarta is still yesterday in UTC: the export's month runs to the local
    day (else a reading just taken is left out, and on the 1st the month is the last)."""
    now = datetime(2026, 11, 30, 17, 30, tzinfo=UTC)  # 2026-12-01 00:30 WIB
    assert local_today([Meter("rumah", "Rumah")], now) == date(2026, 12, 1)
    assert local_today([Meter("flat", "Flat", timezone="Europe/London")], now) == date(2026, 11, 30)
    assert month_span([], local_today([Meter("rumah", "Rumah")], now)) == (
        date(2026, 12, 1),
        date(2026, 12, 1),
    )


def test_month_span_words() -> None:
    """This month so far, one month, a range; anything else is None."""
    today = date(2026, 12, 15)
    assert month_span([], today) == (date(2026, 12, 1), today)
    assert month_span(["2026-02"], today) == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_span(["2026-11-03", "2026-11-05"], today) == (
        date(2026, 11, 3),
        date(2026, 11, 5),
    )
    assert month_span(["2026-11-05", "2026-11-03"], today) is None
    assert month_span(["2026-13"], today) is None
    assert month_span(["kemarin"], today) is None
