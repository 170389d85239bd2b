"""Plain-dict forms of the domain types, shared by both adapters.

The dicts follow the Firebase layout in DESIGN.md. Times are written as
fixed-width UTC ISO strings (``2026-11-20T21:57:00.000000Z``) so that they sort
the same way as text (SQLite, Firebase ``orderByChild``) and as time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tokenmeter.access import OWNER, TENANT, Person
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    Schedule,
    StatusChange,
    TopUp,
    TopUpStatus,
)

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def ts_text(value: datetime) -> str:
    """Return a sortable UTC text form of an aware (or UTC-naive) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def parse_ts(text: str) -> datetime:
    """Inverse of ``ts_text``; also accepts any ISO 8601 form with an offset."""
    try:
        return datetime.strptime(text, _TS_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


# -- meters ---------------------------------------------------------------------
def meter_to_dict(meter: Meter) -> dict[str, Any]:
    return {
        "name": meter.name,
        "timezone": meter.timezone,
        "low_kwh": meter.low_kwh,
        "camera_url": meter.camera_url,
    }


def meter_from_dict(meter_id: str, data: Mapping[str, Any]) -> Meter:
    return Meter(
        id=meter_id,
        name=str(data.get("name") or meter_id),
        timezone=str(data.get("timezone", "Asia/Jakarta")),
        low_kwh=float(data.get("low_kwh", 10.0)),
        camera_url=str(data.get("camera_url", "sim:")),
    )


# -- schedules ------------------------------------------------------------------
def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    return {"times": list(schedule.times), "enabled": schedule.enabled}


def schedule_from_dict(data: Any) -> Schedule:
    """Parse a stored schedule; raise ValueError/InvalidSchedule when malformed."""
    if not isinstance(data, Mapping):
        raise ValueError(f"schedule is not an object: {data!r}")
    times = data.get("times", [])
    if times is None:  # Firebase drops empty lists
        times = []
    if not isinstance(times, list | tuple):
        raise ValueError(f"schedule times is not a list: {times!r}")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError(f"schedule enabled is not a boolean: {enabled!r}")
    return Schedule.parse(list(times), enabled=enabled)


# -- readings -------------------------------------------------------------------
def reading_to_dict(reading: Reading) -> dict[str, Any]:
    return {
        "ts": ts_text(reading.ts),
        "kwh": reading.kwh,
        "text": reading.text,
        "confidence": reading.confidence,
        "source": reading.source,
        "status": reading.status.value,
        "photo": reading.photo,
        "error": reading.error,
    }


def reading_from_dict(meter_id: str, reading_id: str, data: Mapping[str, Any]) -> Reading:
    return Reading(
        id=reading_id,
        meter_id=meter_id,
        ts=parse_ts(str(data["ts"])),
        kwh=_float_or_none(data.get("kwh")),
        text=str(data.get("text", "")),
        confidence=float(data.get("confidence", 0.0)),
        source=str(data.get("source", "")),
        status=ReadingStatus(data.get("status", ReadingStatus.OK.value)),
        photo=str(data.get("photo", "")),
        error=str(data.get("error", "")),
    )


# -- top-ups ----------------------------------------------------------------------
def history_to_list(history: tuple[StatusChange, ...]) -> list[dict[str, str]]:
    return [{"status": c.status.value, "ts": ts_text(c.ts), "note": c.note} for c in history]


def history_from_list(items: Any) -> tuple[StatusChange, ...]:
    if not items:
        return ()
    if isinstance(items, Mapping):  # Firebase may turn a list into an object
        items = [items[key] for key in sorted(items, key=int)]
    return tuple(
        StatusChange(TopUpStatus(i["status"]), parse_ts(str(i["ts"])), str(i.get("note", "")))
        for i in items
    )


def topup_to_dict(topup: TopUp) -> dict[str, Any]:
    return {
        "ts": ts_text(topup.ts),
        "masked": topup.masked,
        "hash": topup.hash,
        "status": topup.status.value,
        "source": topup.source,
        "before": topup.before,
        "after": topup.after,
        "error": topup.error,
        "photo": topup.photo,
        "history": history_to_list(topup.history),
    }


def topup_from_dict(meter_id: str, topup_id: str, data: Mapping[str, Any]) -> TopUp:
    return TopUp(
        id=topup_id,
        meter_id=meter_id,
        ts=parse_ts(str(data["ts"])),
        masked=str(data.get("masked", "")),
        hash=str(data.get("hash", "")),
        status=TopUpStatus(data["status"]),
        source=str(data.get("source", "")),
        before=_float_or_none(data.get("before")),
        after=_float_or_none(data.get("after")),
        error=str(data.get("error", "")),
        photo=str(data.get("photo", "")),
        history=history_from_list(data.get("history")),
    )


# -- devices ----------------------------------------------------------------------
def device_to_dict(status: DeviceStatus) -> dict[str, Any]:
    return {"online": status.online, "ts": ts_text(status.ts), "version": status.version}


def device_from_dict(name: str, data: Mapping[str, Any]) -> DeviceStatus:
    return DeviceStatus(
        name=name,
        online=bool(data.get("online", False)),
        ts=parse_ts(str(data["ts"])),
        version=str(data.get("version", "")),
    )


# -- people ------------------------------------------------------------------------
def person_to_dict(person: Person) -> dict[str, Any]:
    """``/people/{chat_id}``; meters as ``{id: true}`` (Firebase keeps no empty lists)."""
    return {
        "role": person.role,
        "name": person.name,
        "meters": {meter_id: True for meter_id in sorted(person.meters)},
    }


def person_from_dict(chat_id: int | str, data: Mapping[str, Any]) -> Person:
    """Parse a stored person; raise ValueError when malformed."""
    role = data.get("role")
    if role not in (OWNER, TENANT):
        raise ValueError(f"person role is {role!r}")
    meters = data.get("meters") or {}
    if isinstance(meters, list):
        meters = dict.fromkeys(meters, True)
    if not isinstance(meters, Mapping):
        raise ValueError(f"person meters is not an object: {meters!r}")
    return Person(
        chat_id=int(chat_id),
        role=OWNER if role == OWNER else TENANT,
        meters=frozenset(str(m) for m, on in meters.items() if on),
        name=str(data.get("name") or ""),
        source="store",
    )
