"""The ``/grafik`` PNG: balance over time with top-ups and the low-balance threshold,
and daily usage bars (or a short note when there is no usage to show yet).

The time axis follows the span the readings really cover, not the days asked: a
short history is drawn over a few hours with times of day, a few days with date
and time, a longer one with dates; tick positions are chosen here so that no
label repeats. Drawn with matplotlib's object API on an Agg canvas (no pyplot, no
global state), so it is safe to call from a worker thread.
"""

from __future__ import annotations

import io
import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from bot.telegram.texts import format_number, say
from tokenmeter.domain import Reading, ReadingStatus, TopUp
from tokenmeter.texts import Lang, format_kwh

MIN_SPAN = timedelta(hours=3)  # a shorter history is drawn centred over this much time
MARGIN = 0.04  # of the span, left and right of the first and last reading
MOST_TICKS = 8
TIME_OF_DAY_UP_TO = timedelta(hours=20)  # longer, and a time of day would repeat
DATE_AND_TIME_UP_TO = timedelta(days=4)  # longer, and dates alone are labelled
_HOUR_STEPS = (1, 2, 3, 4, 6, 12)
_DATE_AND_HOUR_STEPS = (3, 6, 12, 24)
_DAY_STEPS = (1, 2, 3, 7, 14, 30)
USAGE_LEAST_TOP = 0.5  # kWh: the usage axis never shrinks to a sliver around a tiny bar
BALANCE_COLOR, TOPUP_COLOR, LIMIT_COLOR, USAGE_COLOR = "#1f77b4", "#2ca02c", "#d62728", "#ff7f0e"


@dataclass(frozen=True)
class DailyUsage:
    day: date
    kwh: float


@dataclass(frozen=True)
class TimeAxis:
    """The shown time range, its tick positions and their label format."""

    start: datetime
    end: datetime
    ticks: list[datetime]
    label_format: str
    by_day: bool  # ticks are whole days (the usage bars can share this axis)


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


def chart_title(meter_name: str, readings: list[Reading], timezone: str, lang: Lang) -> str:
    """``Rumah: saldo dan pemakaian 14/11–21/11 (7 hari)``: the span the readings cover."""
    zone = ZoneInfo(timezone)
    points = usable(readings)
    assert points, "a chart needs at least one usable reading"
    what = say(lang, "chart_balance_usage" if daily_usage(points, timezone) else "chart_balance")
    first, last = points[0].ts.astimezone(zone), points[-1].ts.astimezone(zone)
    if len(points) == 1:
        return f"{meter_name}: {what} {say(lang, 'chart_one_reading', when=f'{first:%d/%m %H:%M}')}"
    span = last - first
    if span < timedelta(days=1):
        end_format = "%H:%M" if first.date() == last.date() else "%d/%m %H:%M"
        dates = f"{first:%d/%m %H:%M}–{last.strftime(end_format)}"
        minutes = max(1, round(span.total_seconds() / 60))
        length = (
            say(lang, "chart_minutes", n=minutes)
            if minutes < 60
            else say(lang, "chart_hours", n=round(minutes / 60))
        )
    else:
        day_format = "%d/%m" if first.year == last.year else "%d/%m/%Y"
        dates = f"{first.strftime(day_format)}–{last.strftime(day_format)}"
        days = round(span / timedelta(days=1))
        length = say(lang, "chart_one_day") if days == 1 else say(lang, "chart_days", n=days)
    return f"{meter_name}: {what} {dates} ({length})"


def time_axis(first: datetime, last: datetime, zone: ZoneInfo) -> TimeAxis:
    """The range to show around readings from ``first`` to ``last``, and its ticks."""
    if last - first < MIN_SPAN:
        pad = (MIN_SPAN - (last - first)) / 2
        first, last = first - pad, last + pad
    margin = (last - first) * MARGIN
    start, end = (first - margin).astimezone(zone), (last + margin).astimezone(zone)
    shown = end - start
    if shown <= TIME_OF_DAY_UP_TO:
        steps, label_format = [timedelta(hours=h) for h in _HOUR_STEPS], "%H:%M"
    elif shown <= DATE_AND_TIME_UP_TO:
        steps, label_format = [timedelta(hours=h) for h in _DATE_AND_HOUR_STEPS], "%d/%m\n%H:%M"
    else:
        steps, label_format = [timedelta(days=d) for d in _DAY_STEPS], "%d/%m"
    by_day = label_format == "%d/%m"
    if by_day:  # whole local days, so that the first and last usage bars fit
        start = datetime.combine(start.date(), time(0), tzinfo=zone)
        end = datetime.combine(end.date() + timedelta(days=1), time(0), tzinfo=zone)
    step = next((s for s in steps if shown / s <= MOST_TICKS), steps[-1])
    return TimeAxis(start, end, _aligned_ticks(start, end, step), label_format, by_day)


def _aligned_ticks(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Local times from ``start`` to ``end`` on multiples of ``step`` after a midnight."""
    zone = start.tzinfo
    tick = datetime.combine(start.date(), time(0), tzinfo=zone)
    ticks = []
    while tick <= end:
        if tick >= start:
            ticks.append(tick)
        tick += step
    return ticks


def render_chart(
    readings: list[Reading],
    topups: list[TopUp],
    timezone: str,
    lang: Lang,
    title: str,
    low_kwh: float = 0.0,
) -> bytes:
    """Return the chart as PNG bytes (blocking: run it in a thread)."""
    figure = draw_chart(readings, topups, timezone, lang, title, low_kwh)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def draw_chart(
    readings: list[Reading],
    topups: list[TopUp],
    timezone: str,
    lang: Lang,
    title: str,
    low_kwh: float = 0.0,
) -> Figure:
    """The chart's figure: balance panel, then the usage panel or a note."""
    zone = ZoneInfo(timezone)
    points = usable(readings)
    assert points, "a chart needs at least one usable reading"
    usage = daily_usage(points, timezone)
    figure = Figure(figsize=(8, 5.5 if usage else 4.2), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    if usage:
        balance_axes, usage_axes = figure.subplots(2, 1, height_ratios=(3, 1.6))
    else:
        balance_axes, usage_axes = figure.subplots(1, 1), None
        figure.supxlabel(say(lang, "chart_no_usage"), fontsize=9, color="0.35")
    figure.suptitle(title)

    axis = time_axis(points[0].ts, points[-1].ts, zone)
    _draw_balance(balance_axes, points, topups, zone, lang, low_kwh)
    _use_time_axis(balance_axes, axis, zone)
    zone_name = axis.start.strftime("%Z")
    time_label = say(lang, "chart_time", zone=zone_name)
    if axis.label_format == "%H:%M":  # times alone: say the day(s) once, here
        days = sorted({axis.start.date(), axis.end.date()})
        time_label += ", " + "–".join(f"{d:%d/%m/%Y}" for d in days)
    if usage_axes is None:
        balance_axes.set_xlabel(time_label)
        return figure
    _draw_usage(usage_axes, usage, zone, lang)
    if axis.by_day:
        _use_time_axis(usage_axes, axis, zone)
    else:  # hours above; whole days here, with the value on each bar
        noons = [_x(_noon(u.day, zone)) for u in usage]
        usage_axes.set_xlim(noons[0] - 0.75, noons[-1] + 0.75)  # date numbers are days
        usage_axes.xaxis.set_major_locator(FixedLocator(noons))
        usage_axes.xaxis.set_major_formatter(DateFormatter("%d/%m", tz=zone))  # type: ignore[no-untyped-call]
    balance_axes.set_xlabel(time_label)
    return figure


def _draw_balance(
    axes: Axes,
    points: list[Reading],
    topups: list[TopUp],
    zone: ZoneInfo,
    lang: Lang,
    low_kwh: float,
) -> None:
    values = [r.kwh for r in points if r.kwh is not None]
    times = [_x(r.ts) for r in points]
    axes.plot(times, values, marker="o", markersize=3, linewidth=1.6, color=BALANCE_COLOR)
    axes.set_ylabel(say(lang, "chart_balance_axis"))
    axes.grid(True, alpha=0.3)
    highest = max([*values, low_kwh, *(t.after for t in topups if t.after is not None)])
    for index, topup in enumerate(topups):
        when = _x(topup.ts)
        label = say(lang, "chart_topup") if index == 0 else None
        axes.axvline(when, color=TOPUP_COLOR, linestyle="--", linewidth=1, label=label)
        if topup.after is not None:
            axes.plot([when], [topup.after], marker="^", color=TOPUP_COLOR, markersize=8)
    if low_kwh > 0:
        limit = say(lang, "chart_limit", kwh=format_kwh(low_kwh, lang))
        axes.axhline(low_kwh, color=LIMIT_COLOR, linestyle=":", linewidth=1.4, label=limit)
    axes.set_ylim(0, max(highest * 1.15, 1.0))
    axes.yaxis.set_major_formatter(_number_formatter(lang))
    if topups or low_kwh > 0:
        axes.legend(loc="best", fontsize=9)


def _draw_usage(axes: Axes, usage: list[DailyUsage], zone: ZoneInfo, lang: Lang) -> None:
    noons = [_x(_noon(u.day, zone)) for u in usage]
    bars = axes.bar(noons, [u.kwh for u in usage], width=0.7, color=USAGE_COLOR)
    if len(usage) <= 14:
        axes.bar_label(bars, labels=[format_number(u.kwh, 2, lang) for u in usage], fontsize=8)
    axes.set_ylabel(say(lang, "chart_usage_axis"))
    axes.grid(True, axis="y", alpha=0.3)
    axes.set_ylim(0, max(max(u.kwh for u in usage) * 1.3, USAGE_LEAST_TOP))
    axes.yaxis.set_major_formatter(_number_formatter(lang))


def _use_time_axis(axes: Axes, axis: TimeAxis, zone: ZoneInfo) -> None:
    axes.set_xlim(_x(axis.start), _x(axis.end))
    axes.xaxis.set_major_locator(FixedLocator([_x(tick) for tick in axis.ticks]))
    axes.xaxis.set_major_formatter(DateFormatter(axis.label_format, tz=zone))  # type: ignore[no-untyped-call]


def _x(when: datetime) -> float:
    """matplotlib's date number (days) of an aware time."""
    return float(date2num(when))  # type: ignore[no-untyped-call]


def _noon(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone)


def _number_formatter(lang: Lang) -> FuncFormatter:
    """Axis numbers with as few decimals as they need, in the language's format."""

    def label(value: float, _position: float) -> str:
        decimals = next((d for d in (0, 1, 2) if abs(round(value, d) - value) < 1e-9), 2)
        return format_number(value, decimals, lang)

    return FuncFormatter(label)
