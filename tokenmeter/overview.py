"""The overview of every meter (``tokenmeter status``, Telegram ``/ringkasan``).

For each meter: the last balance, days left at its recent usage, the age of the last
check, its devices, and its open top-ups; sorted by what needs action first. Read
from the store only (no photo is taken); ``overview`` runs in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tokenmeter.domain import DeviceStatus, Meter, Reading, ReadingStatus, TopUp, TopUpStatus
from tokenmeter.services.usage import days_left, kwh_per_day
from tokenmeter.store.base import Store
from tokenmeter.texts import Lang, format_number

USAGE_WINDOW = timedelta(days=7)
HISTORY = 200  # readings looked at for the usage rate
STALE_AFTER = timedelta(hours=26)  # no check for this long needs a look
OPEN_TOPUPS = frozenset({TopUpStatus.PENDING, TopUpStatus.QUEUED, TopUpStatus.SENT})
SOON_DAYS = 3.0  # days left under this needs action


@dataclass(frozen=True)
class MeterOverview:
    """One meter's line of the overview."""

    meter: Meter
    latest: Reading | None  # the last reading, whatever its status
    balance: Reading | None  # the last trusted reading
    kwh_per_day: float | None
    days_left: float | None
    devices: tuple[DeviceStatus, ...] = ()
    open_topups: tuple[TopUp, ...] = ()
    problems: tuple[str, ...] = field(default=())  # see ``problems_of``

    @property
    def rank(self) -> tuple[int, float, str]:
        """Sort key: most problems first, then fewest days left, then name."""
        days = self.days_left if self.days_left is not None else float("inf")
        return (-len(self.problems), days, self.meter.name)


def problems_of(item: MeterOverview, now: datetime) -> tuple[str, ...]:
    """What needs action: ``failed`` (last check), ``low``, ``soon`` (days left),
    ``topup`` (open), ``offline`` (a device), ``stale`` (no recent check), ``never``."""
    found = []
    if item.latest is None:
        return ("never",)
    if item.latest.status is not ReadingStatus.OK:
        found.append("failed")
    kwh = item.balance.kwh if item.balance is not None else None
    if kwh is not None and kwh < item.meter.low_kwh:
        found.append("low")
    elif item.days_left is not None and item.days_left < SOON_DAYS:
        found.append("soon")
    if item.open_topups:
        found.append("topup")
    if any(not device.online for device in item.devices):
        found.append("offline")
    if now - item.latest.ts > STALE_AFTER:
        found.append("stale")
    return tuple(found)


def meter_overview(store: Store, meter: Meter, now: datetime) -> MeterOverview:
    """(thread) One meter's overview from the store."""
    history = store.last_readings(meter.id, HISTORY)
    trusted = [r for r in history if r.status is ReadingStatus.OK and r.kwh is not None]
    balance = trusted[-1] if trusted else None
    recent = [r for r in trusted if balance is not None and r.ts >= balance.ts - USAGE_WINDOW]
    per_day = kwh_per_day(recent)
    item = MeterOverview(
        meter=meter,
        latest=history[-1] if history else None,
        balance=balance,
        kwh_per_day=per_day,
        days_left=days_left(balance.kwh if balance else None, per_day),
        devices=tuple(store.get_device_statuses(meter.id)),
        open_topups=tuple(store.list_topups(meter.id, OPEN_TOPUPS)),
    )
    return replace(item, problems=problems_of(item, now))


def overview(store: Store, meters: list[Meter], now: datetime) -> list[MeterOverview]:
    """(thread) Every meter's overview, what needs action first."""
    return sorted((meter_overview(store, m, now) for m in meters), key=lambda i: i.rank)


_WORDS: dict[str, dict[Lang, str]] = {
    "failed": {"id": "cek terakhir gagal", "en": "last check failed"},
    "low": {"id": "di bawah batas", "en": "under the threshold"},
    "soon": {"id": "segera habis", "en": "running out"},
    "topup": {"id": "{n} token belum selesai", "en": "{n} top-up(s) open"},
    "offline": {"id": "{devices} offline", "en": "{devices} offline"},
    "stale": {"id": "lama tidak dicek", "en": "not checked lately"},
    "never": {"id": "belum pernah dicek", "en": "never checked"},
    "days": {"id": "±{days} hari", "en": "±{days} days"},
    "ago_min": {"id": "{n} menit lalu", "en": "{n} min ago"},
    "ago_hour": {"id": "{n} jam lalu", "en": "{n} h ago"},
    "ago_day": {"id": "{n} hari lalu", "en": "{n} days ago"},
    "head": {
        "id": "{n} meter, {m} perlu tindakan",
        "en": "{n} meter(s), {m} need action",
    },
}


def age_text(since: datetime, now: datetime, lang: Lang) -> str:
    """``5 menit lalu``, ``3 jam lalu``, ``2 hari lalu``."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 60:
        return _WORDS["ago_min"][lang].format(n=minutes)
    if minutes < 48 * 60:
        return _WORDS["ago_hour"][lang].format(n=minutes // 60)
    return _WORDS["ago_day"][lang].format(n=minutes // (24 * 60))


def overview_line(item: MeterOverview, now: datetime, lang: Lang) -> str:
    """``⚠️ Kamar 3: 4,1 kWh · ±1 hari · 2 jam lalu · di bawah batas, keypad offline``."""
    parts = []
    if item.balance is not None and item.balance.kwh is not None:
        parts.append(f"{format_number(item.balance.kwh, 1, lang)} kWh")
    else:
        parts.append("- kWh")
    if item.days_left is not None:
        parts.append(_WORDS["days"][lang].format(days=format_number(item.days_left, 0, lang)))
    if item.latest is not None:
        parts.append(age_text(item.latest.ts, now, lang))
    words = []
    for problem in item.problems:
        if problem == "topup":
            words.append(_WORDS["topup"][lang].format(n=len(item.open_topups)))
        elif problem == "offline":
            names = ", ".join(d.name for d in item.devices if not d.online)
            words.append(_WORDS["offline"][lang].format(devices=names))
        else:
            words.append(_WORDS[problem][lang])
    if words:
        parts.append(", ".join(words))
    mark = "⚠️ " if item.problems else "✅ "
    return f"{mark}{item.meter.name}: " + " · ".join(parts)


def overview_text(items: list[MeterOverview], now: datetime, lang: Lang = "id") -> str:
    """A header line, then one line per meter (already sorted)."""
    action = sum(1 for item in items if item.problems)
    head = _WORDS["head"][lang].format(n=len(items), m=action)
    return "\n".join([head, *(overview_line(item, now, lang) for item in items)])
