"""Turn domain objects (outcomes, readings, top-ups, devices) into message text."""

from __future__ import annotations

import html
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.telegram.texts import (
    TOPUP_STATES,
    device_name,
    format_ago,
    format_change,
    format_number,
    reading_source_name,
    say,
)
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    Schedule,
    TopUp,
    TopUpStatus,
    utcnow,
)
from tokenmeter.errors import CameraUnavailable, TokenmeterError, Unreadable
from tokenmeter.events import CheckOutcome
from tokenmeter.texts import Lang, error_sentence, format_kwh, topup_no_answer

CAPTION_LIMIT = 1024  # Telegram's photo caption limit


def local_time(ts: datetime, timezone: str) -> str:
    """``20/11 06:00`` in the meter's timezone."""
    return ts.astimezone(ZoneInfo(timezone)).strftime("%d/%m %H:%M")


def reading_error(reading: Reading) -> TokenmeterError:
    """The domain error a failed reading stands for."""
    if reading.status == ReadingStatus.CAMERA_ERROR:
        return CameraUnavailable.from_reading_error(reading.error)
    return Unreadable(reading.error)


def outcome_caption(outcome: CheckOutcome, lang: Lang, header: str = "") -> str:
    """The caption of a check: balance, change, usage rate, days left, low warning."""
    meter, reading = outcome.meter, outcome.reading
    lines = [f"{header}{meter.name} · {local_time(reading.ts, meter.timezone)}"]
    if reading.kwh is None or reading.status in (
        ReadingStatus.UNREADABLE,
        ReadingStatus.CAMERA_ERROR,
    ):
        lines.append(error_sentence(reading_error(reading), lang))
        return "\n".join(lines)[:CAPTION_LIMIT]
    lines.append(say(lang, "balance", kwh=format_kwh(reading.kwh, lang)))
    if outcome.change_kwh is not None and outcome.previous is not None:
        ago = format_ago((reading.ts - outcome.previous.ts).total_seconds(), lang)
        lines.append(say(lang, "change", change=format_change(outcome.change_kwh, lang), ago=ago))
    if outcome.kwh_per_day is not None:
        lines.append(say(lang, "rate", rate=format_kwh(outcome.kwh_per_day, lang)))
    if outcome.days_left is not None:
        decimals = 1 if outcome.days_left < 10 else 0
        lines.append(say(lang, "days_left", days=format_number(outcome.days_left, decimals, lang)))
    if outcome.low:
        lines.append(say(lang, "low", limit=format_kwh(meter.low_kwh, lang)))
    if reading.status == ReadingStatus.UNVERIFIED:
        lines.append(say(lang, "unverified"))
    return "\n".join(lines)[:CAPTION_LIMIT]


def status_text(
    meter: Meter, latest: Reading | None, devices: list[DeviceStatus], lang: Lang
) -> str:
    """``/status``: the last stored reading with its age and the devices' states."""
    now = utcnow()
    if latest is None:
        lines = [say(lang, "no_reading", meter=meter.name)]
    else:
        lines = [meter.name]
        if latest.kwh is None:
            lines.append(error_sentence(reading_error(latest), lang))
        else:
            lines.append(say(lang, "balance", kwh=format_kwh(latest.kwh, lang)))
            if latest.status == ReadingStatus.UNVERIFIED:
                lines.append(say(lang, "unverified"))
        ago = format_ago((now - latest.ts).total_seconds(), lang)
        lines.append(say(lang, "read_at", when=local_time(latest.ts, meter.timezone), ago=ago))
    if devices:
        states = []
        for device in sorted(devices, key=lambda d: d.name):
            state = (
                say(lang, "online")
                if device.online
                else say(lang, "offline", when=local_time(device.ts, meter.timezone))
            )
            states.append(f"{device_name(device.name, lang)} {state}")
        lines.append(say(lang, "devices", devices=" · ".join(states)))
    else:
        lines.append(say(lang, "no_devices"))
    return "\n".join(lines)


_SHORT_STATUS: dict[ReadingStatus, str] = {
    ReadingStatus.OK: "",
    ReadingStatus.UNVERIFIED: "?",
    ReadingStatus.UNREADABLE: "✗",
    ReadingStatus.CAMERA_ERROR: "✗",
}


_LEGEND = (("?", "history_unverified"), ("✗", "history_failed"))


def history_html(meter: Meter, readings: list[Reading], lang: Lang) -> str:
    """``/riwayat``: a monospace table (HTML ``<pre>``) with a header row, newest first,
    then a legend of the marks it uses."""
    head = say(lang, "history_head", meter=html.escape(meter.name), count=len(readings))
    zone_name = datetime.now(ZoneInfo(meter.timezone)).strftime("%Z")
    time_head = f"{say(lang, 'history_time')} ({zone_name})"
    width = max(len(time_head), len("20/11 06:00"))
    rows = [f"{time_head:<{width}} {'kWh':>9}  {say(lang, 'history_source')}"]
    marks: set[str] = set()
    for reading in reversed(readings):
        kwh = format_kwh(reading.kwh, lang) if reading.kwh is not None else "-"
        mark = _SHORT_STATUS.get(reading.status, "")
        marks.add(mark)
        when = local_time(reading.ts, meter.timezone)
        source = reading_source_name(reading.source, lang)
        rows.append(f"{when:<{width}} {kwh:>9}{mark:1} {source}")
    table = html.escape("\n".join(rows))
    legend = [say(lang, key) for mark, key in _LEGEND if mark in marks]
    return "\n".join([head, f"<pre>{table}</pre>", *(html.escape(line) for line in legend)])


def schedule_text(
    meter: Meter, schedule: Schedule | None, lang: Lang, key: str = "schedule_show"
) -> str:
    times = ", ".join(schedule.times) if schedule and schedule.times else ""
    off = say(lang, "schedule_off") if schedule is not None and not schedule.enabled else ""
    return say(
        lang,
        key,
        meter=meter.name,
        times=times or say(lang, "schedule_none"),
        tz=meter.timezone,
        off=off,
    )


def topup_text(meter: Meter, topup: TopUp, lang: Lang) -> str:
    """One top-up's current state, for the message that is edited as it moves."""
    if topup.status is TopUpStatus.SENT and topup.error == "no_answer":
        return f"{meter.name}: ⚠️ {topup_no_answer(topup.masked, lang)}"
    template = TOPUP_STATES.get(str(topup.status), TOPUP_STATES["PENDING"])[lang]
    error = f" ({topup.error})" if topup.error else ""
    body = template.format(
        masked=topup.masked,
        credit=format_kwh(topup.credit, lang),
        before=format_kwh(topup.before, lang),
        after=format_kwh(topup.after, lang),
        error=error,
    )
    return f"{meter.name}: {body}"


def offline_alert(meter: Meter, device: DeviceStatus, minutes: int, lang: Lang) -> str:
    return say(
        lang,
        "alert_offline",
        device=device_name(device.name, lang),
        meter=meter.name,
        minutes=minutes,
    )
