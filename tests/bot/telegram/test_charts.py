"""The /grafik chart: daily usage figures, the figure's axes, labels and lines, the PNG."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import cast

import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bot.telegram.charts import DailyUsage, daily_usage, draw_chart, render_chart
from tokenmeter.domain import Reading, ReadingStatus, TopUp, TopUpStatus
from tokenmeter.texts import Lang

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


def series(hours: float, every: float, kwh: float = 120.0, per_hour: float = 0.2) -> list[Reading]:
    """Readings ``every`` hours apart over ``hours``, falling ``per_hour`` kWh an hour."""
    count = int(hours / every) + 1
    return [reading(i * every, kwh - i * every * per_hour) for i in range(count)]


def drawn(readings: list[Reading], lang: Lang = "id", low_kwh: float = 10.0) -> Figure:
    figure = draw_chart(readings, [], "Asia/Jakarta", lang, "Rumah", low_kwh)
    figure.draw_without_rendering()
    return figure


def labels(axis: Axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def span_hours(axes: Axes) -> float:
    low, high = axes.get_xlim()
    return (high - low) * 24


def assert_sensible_time_axis(axes: Axes, least: int = 2, most: int = 10) -> list[str]:
    """Between ``least`` and ``most`` tick labels on the time axis, none repeated."""
    shown = labels(axes.xaxis)
    assert least <= len(shown) <= most, shown
    assert len(set(shown)) == len(shown), shown
    return shown


def threshold_drawn(axes: Axes, kwh: float) -> bool:
    return any(list(np.asarray(line.get_ydata())) == [kwh, kwh] for line in axes.get_lines())


def test_one_reading_gets_a_readable_axis_the_threshold_and_a_note() -> None:
    """One reading: hours around it, the threshold line, and a note instead of usage bars."""
    figure = drawn([reading(0, 42.0)])
    (balance,) = figure.axes  # no empty usage panel
    assert 2 <= span_hours(balance) <= 24
    assert_sensible_time_axis(balance)
    assert threshold_drawn(balance, 10.0)
    low, high = balance.get_ylim()
    assert low <= 0 and high > 42.0
    assert any("Pemakaian harian" in text.get_text() for text in figure.texts)


def test_readings_a_minute_apart_do_not_make_a_one_minute_axis() -> None:
    """Two readings a minute apart: the axis spans hours, labels do not repeat, and the
    tiny usage bar has an axis from zero with decimal commas."""
    figure = drawn([reading(0, 42.0), reading(1 / 60, 41.99)])
    balance, usage = figure.axes
    assert span_hours(balance) >= 2
    assert_sensible_time_axis(balance)
    assert usage.get_ylim()[0] == 0
    values = labels(usage.yaxis)
    assert any("," in v for v in values) and not any("." in v for v in values)


def test_one_day_has_time_labels_and_a_bar_per_day() -> None:
    """A day of hourly readings: times of day, each label once, and the usage bars visible."""
    figure = drawn(series(24, 1))
    balance, usage = figure.axes
    assert 22 <= span_hours(balance) <= 30
    assert all(":" in label for label in assert_sensible_time_axis(balance, least=3))
    assert threshold_drawn(balance, 10.0)
    bars = cast(list[Rectangle], usage.patches)  # the usage bars: Axes.bar draws Rectangles
    assert 1 <= len(bars) <= 2
    low, high = usage.get_xlim()
    assert all(low <= bar.get_x() and bar.get_x() + bar.get_width() <= high for bar in bars)
    assert_sensible_time_axis(usage, least=1, most=2)


def test_seven_days_have_date_labels_shared_with_the_usage_bars() -> None:
    """A week: one date label a day at most, none repeated; usage bars under the same axis."""
    figure = drawn(series(7 * 24, 6))
    balance, usage = figure.axes
    shown = assert_sensible_time_axis(balance, least=4, most=9)
    assert all(len(label) == len("18/11") and label[2] == "/" for label in shown)
    assert usage.get_xlim() == balance.get_xlim()
    assert 7 <= len(usage.patches) <= 8
    assert threshold_drawn(balance, 10.0)


def test_ninety_days_have_few_date_labels() -> None:
    """Ninety days: a handful of date labels, none repeated."""
    figure = drawn(series(90 * 24, 12, kwh=400.0, per_hour=0.15))
    balance, _usage = figure.axes
    assert_sensible_time_axis(balance, least=4, most=10)
    assert threshold_drawn(balance, 10.0)
