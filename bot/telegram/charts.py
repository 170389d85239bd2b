"""The ``/grafik`` PNG: balance over time with top-ups marked, and daily usage bars.

Drawn with matplotlib's object API on an Agg canvas (no pyplot, no global state),
so it is safe to call from a worker thread.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure

from tokenmeter.domain import Reading, ReadingStatus, TopUp
from tokenmeter.texts import Lang

_LABELS: dict[str, dict[str, str]] = {
    "balance": {"id": "Sisa token (kWh)", "en": "Balance (kWh)"},
    "usage": {"id": "Pemakaian (kWh/hari)", "en": "Usage (kWh/day)"},
    "topup": {"id": "Isi token", "en": "Top-up"},
}


@dataclass(frozen=True)
class DailyUsage:
    day: date
    kwh: float


def usable(readings: list[Reading]) -> list[Reading]:
    """Readings with a trusted value, oldest first."""
    return sorted(
        (r for r in readings if r.kwh is not None and r.status == ReadingStatus.OK),
        key=lambda r: r.ts,
    )


def daily_usage(readings: list[Reading], timezone: str) -> list[DailyUsage]:
    """kWh used per local day: the falls between consecutive readings.

    A rise (a top-up) tells nothing about use in that interval and is skipped.
    """
    zone = ZoneInfo(timezone)
    used: dict[date, float] = defaultdict(float)
    points = usable(readings)
    for before, after in itertools.pairwise(points):
        assert before.kwh is not None and after.kwh is not None
        fall = before.kwh - after.kwh
        if fall > 0:
            used[after.ts.astimezone(zone).date()] += fall
    return [DailyUsage(day, round(kwh, 2)) for day, kwh in sorted(used.items())]


def render_chart(
    readings: list[Reading],
    topups: list[TopUp],
    timezone: str,
    lang: Lang,
    title: str,
) -> bytes:
    """Return the chart as PNG bytes (blocking: run it in a thread)."""
    zone = ZoneInfo(timezone)
    points = usable(readings)
    figure = Figure(figsize=(8, 5.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    balance_axes, usage_axes = figure.subplots(2, 1, height_ratios=(3, 1.6))
    figure.suptitle(title)

    times: list[datetime] = [r.ts.astimezone(zone) for r in points]
    values = [r.kwh for r in points]
    balance_axes.plot(times, values, marker="o", markersize=3, linewidth=1.6, color="#1f77b4")
    balance_axes.set_ylabel(_LABELS["balance"][lang])
    balance_axes.grid(True, alpha=0.3)
    for index, topup in enumerate(topups):
        when = topup.ts.astimezone(zone)
        label = _LABELS["topup"][lang] if index == 0 else None
        balance_axes.axvline(when, color="#2ca02c", linestyle="--", linewidth=1, label=label)
        if topup.after is not None:
            balance_axes.plot([when], [topup.after], marker="^", color="#2ca02c", markersize=8)
    if topups:
        balance_axes.legend(loc="upper right")
    formatter = DateFormatter("%d/%m\n%H:%M", tz=zone)  # type: ignore[no-untyped-call]
    balance_axes.xaxis.set_major_locator(AutoDateLocator(tz=zone, maxticks=8))  # type: ignore[no-untyped-call]
    balance_axes.xaxis.set_major_formatter(formatter)

    usage = daily_usage(readings, timezone)
    days = [datetime(u.day.year, u.day.month, u.day.day, 12, tzinfo=zone) for u in usage]
    usage_axes.bar(days, [u.kwh for u in usage], width=0.7, color="#ff7f0e")
    usage_axes.set_ylabel(_LABELS["usage"][lang])
    usage_axes.grid(True, axis="y", alpha=0.3)
    day_format = DateFormatter("%d/%m", tz=zone)  # type: ignore[no-untyped-call]
    usage_axes.xaxis.set_major_formatter(day_format)
    if times:
        usage_axes.set_xlim(balance_axes.get_xlim())

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
