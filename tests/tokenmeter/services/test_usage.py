"""Tests for tokenmeter.services.usage."""

from __future__ import annotations

from datetime import timedelta

from tokenmeter.domain import Reading, ReadingStatus, utcnow
from tokenmeter.services.usage import days_left, kwh_per_day

START = utcnow()


def _reading(hours: float, kwh: float, status: ReadingStatus = ReadingStatus.OK) -> Reading:
    return Reading("r", "m", START + timedelta(hours=hours), kwh, "", 1.0, "cli", status)


def test_rate_from_falls_only() -> None:
    """6 kWh used over 12 h is 12 kWh/day; the top-up rise in between is skipped."""
    readings = [_reading(0, 50), _reading(6, 47), _reading(7, 97), _reading(12, 94)]
    assert kwh_per_day(readings) == 12.0


def test_untrusted_readings_are_ignored() -> None:
    """Unverified values do not count."""
    readings = [
        _reading(0, 50),
        _reading(6, 5, ReadingStatus.UNVERIFIED),
        _reading(12, 44),
    ]
    assert kwh_per_day(readings) == 12.0


def test_too_short_a_history_gives_no_rate() -> None:
    """One reading, or minutes apart, says nothing."""
    assert kwh_per_day([_reading(0, 50)]) is None
    assert kwh_per_day([_reading(0, 50), _reading(0.1, 49.9)]) is None


def test_days_left() -> None:
    """Balance over daily use, None when unknown or zero use."""
    assert days_left(30.0, 12.0) == 2.5
    assert days_left(30.0, 0.0) is None
    assert days_left(None, 5.0) is None
