"""Tests for tokenmeter.services.plausibility."""

from __future__ import annotations

from datetime import timedelta

from tokenmeter.domain import Reading, ReadingStatus, utcnow
from tokenmeter.services.plausibility import judge

NOW = utcnow()


def _previous(kwh: float, hours_ago: float) -> Reading:
    return Reading(
        "r", "m", NOW - timedelta(hours=hours_ago), kwh, f"{kwh:.2f}", 1.0, "cli", ReadingStatus.OK
    )


def test_first_reading_is_plausible() -> None:
    """With nothing before it any in-range value is believed."""
    assert judge(50.0, NOW, None, max_kwh_per_hour=5).plausible


def test_a_slow_fall_is_plausible() -> None:
    """4 kWh in an hour at a 5 kWh/h limit is fine."""
    assert judge(46.0, NOW, _previous(50.0, 1), max_kwh_per_hour=5).plausible


def test_a_fast_fall_is_not() -> None:
    """10 kWh in an hour at a 5 kWh/h limit is a misread."""
    verdict = judge(40.0, NOW, _previous(50.0, 1), max_kwh_per_hour=5)
    assert not verdict.plausible and verdict.reason == "fell_too_fast"


def test_a_rise_needs_a_top_up() -> None:
    """A higher balance is refused unless a token was typed."""
    previous = _previous(50.0, 1)
    verdict = judge(80.0, NOW, previous, max_kwh_per_hour=5)
    assert not verdict.plausible and verdict.reason == "rose"
    assert judge(80.0, NOW, previous, max_kwh_per_hour=5, rise_allowed=True).plausible


def test_display_rounding_is_tolerated() -> None:
    """A hundredth up a few seconds later is not called a rise."""
    assert judge(50.01, NOW, _previous(50.0, 0.001), max_kwh_per_hour=5).plausible


def test_out_of_range_values() -> None:
    """Negative or beyond the display is never plausible."""
    assert judge(-1.0, NOW, None, max_kwh_per_hour=5).reason == "out_of_range"
    assert judge(123456.0, NOW, None, max_kwh_per_hour=5).reason == "out_of_range"
