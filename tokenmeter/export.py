"""Export for records and billing (``tokenmeter export``, Telegram ``/ekspor``).

For a span of local dates: every reading, the daily usage per meter, the top-ups
(masked tokens, credit added) and the monthly usage per meter, the billing basis,
with an estimated amount in rupiah when ``[billing] tariff_rp_per_kwh`` is set.
Usage is the sum of the falls between trusted readings (a rise is a top-up), given
to the local day of the later reading. Read from the store only; runs in a thread.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tokenmeter.domain import Meter, Reading, ReadingStatus
from tokenmeter.store.base import Store
from tokenmeter.store.records import ts_text
from tokenmeter.texts import Lang, format_number

CSV_COLUMNS = (
    "kind",  # reading | daily | topup | monthly
    "meter",
    "name",
    "time",  # UTC, readings and top-ups
    "date",  # local day (daily) or month YYYY-MM (monthly)
    "kwh",  # balance (reading), used (daily, monthly), after (top-up)
    "status",
    "source",
    "token",  # masked
    "credit_kwh",
    "amount_rp",  # monthly, with a tariff
)


@dataclass
class Export:
    """What an export holds; each list is oldest first, meter by meter."""

    readings: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)
    topups: list[dict[str, Any]] = field(default_factory=list)
    monthly: list[dict[str, Any]] = field(default_factory=list)


def local_span(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC bounds of the local days ``first`` to ``last``, both included."""
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end - timedelta(microseconds=1)


def daily_usage(readings: list[Reading], zone: ZoneInfo) -> dict[date, float]:
    """kWh used per local day: falls between consecutive trusted readings."""
    trusted = [r for r in readings if r.status is ReadingStatus.OK and r.kwh is not None]
    used: dict[date, float] = defaultdict(float)
    for older, newer in itertools.pairwise(trusted):
        assert older.kwh is not None and newer.kwh is not None
        day = newer.ts.astimezone(zone).date()
        used[day] += max(0.0, older.kwh - newer.kwh)
    return dict(used)


def build_export(
    store: Store, meters: list[Meter], first: date, last: date, tariff_rp_per_kwh: float = 0.0
) -> Export:
    """(thread) The export of ``meters`` over the local days ``first`` to ``last``."""
    export = Export()
    for meter in meters:
        zone = ZoneInfo(meter.timezone)
        start, end = local_span(first, last, zone)
        readings = store.readings_between(meter.id, start, end)
        for r in readings:
            export.readings.append(
                {
                    "meter": meter.id,
                    "name": meter.name,
                    "time": ts_text(r.ts),
                    "kwh": r.kwh,
                    "status": r.status.value,
                    "source": r.source,
                }
            )
        days = daily_usage(readings, zone)
        months: dict[str, float] = defaultdict(float)
        for day in sorted(days):
            kwh = round(days[day], 2)
            export.daily.append(
                {"meter": meter.id, "name": meter.name, "date": day.isoformat(), "kwh": kwh}
            )
            months[day.strftime("%Y-%m")] += kwh
        for month, kwh in sorted(months.items()):
            row: dict[str, Any] = {
                "meter": meter.id,
                "name": meter.name,
                "date": month,
                "kwh": round(kwh, 2),
            }
            if tariff_rp_per_kwh > 0:
                row["amount_rp"] = round(kwh * tariff_rp_per_kwh)
            export.monthly.append(row)
        for t in store.list_topups(meter.id):
            if start <= t.ts <= end:
                export.topups.append(
                    {
                        "meter": meter.id,
                        "name": meter.name,
                        "time": ts_text(t.ts),
                        "token": t.masked,
                        "status": t.status.value,
                        "source": t.source,
                        "credit_kwh": t.credit,
                        "kwh": t.after,
                    }
                )
    return export


def export_json(export: Export) -> str:
    return json.dumps(asdict(export), ensure_ascii=False, indent=2)


def export_csv(export: Export) -> str:
    """One table, a ``kind`` column saying which part each row is (UTF-8, comma)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    parts = (
        ("reading", export.readings),
        ("daily", export.daily),
        ("topup", export.topups),
        ("monthly", export.monthly),
    )
    for kind, rows in parts:
        for row in rows:
            writer.writerow({"kind": kind, **row})
    return out.getvalue()


def format_rupiah(amount: float, lang: Lang = "id") -> str:
    """``Rp 12.345`` (Indonesian thousands dots; ``Rp 12,345`` in English)."""
    return "Rp " + format_number(amount, 0, lang)


def monthly_lines(export: Export, lang: Lang = "id") -> list[str]:
    """``Kamar 3 2026-11: 45,2 kWh ≈ Rp 65.540`` per meter and month."""
    lines = []
    for row in export.monthly:
        line = f"{row['name']} {row['date']}: {format_number(row['kwh'], 1, lang)} kWh"
        if "amount_rp" in row:
            line += f" ≈ {format_rupiah(row['amount_rp'], lang)}"
        lines.append(line)
    return lines
