"""Usage figures from the history: kWh per day and days left. Pure functions."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tokenmeter.domain import Reading, ReadingStatus

MIN_SPAN_HOURS = 0.25  # shorter histories say too little about a daily rate


def kwh_per_day(
    readings: Sequence[Reading], min_span_hours: float = MIN_SPAN_HOURS
) -> float | None:
    """Average consumption over trusted readings (oldest first); rises (top-ups) skipped.

    None when the trusted readings span less than ``min_span_hours``.
    """
    trusted = [r for r in readings if r.status is ReadingStatus.OK and r.kwh is not None]
    if len(trusted) < 2:
        return None
    span_h = (trusted[-1].ts - trusted[0].ts).total_seconds() / 3600
    if span_h < min_span_hours:
        return None
    used = 0.0
    for older, newer in itertools.pairwise(trusted):
        assert older.kwh is not None and newer.kwh is not None
        if newer.kwh < older.kwh:
            used += older.kwh - newer.kwh
    return round(used / span_h * 24, 2)


def days_left(kwh: float | None, per_day: float | None) -> float | None:
    """Days until empty at ``per_day``; None when either is unknown or usage is zero."""
    if kwh is None or per_day is None or per_day <= 0:
        return None
    return round(kwh / per_day, 1)
