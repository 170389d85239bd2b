"""``tokenmeter config check``, ``tokenmeter schedule show|set`` and ``tokenmeter history``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import click

from tokenmeter.commands.common import (
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_line,
    config_option,
    lang_option,
    source_line,
    user_errors,
)
from tokenmeter.config import Config, find_config_file, load_config
from tokenmeter.config_setup import setup_problems
from tokenmeter.domain import Reading, Schedule
from tokenmeter.errors import ConfigError, UnknownMeter
from tokenmeter.store.base import Store
from tokenmeter.store.factory import open_store
from tokenmeter.store.records import ts_text
from tokenmeter.texts import Lang, config_problem_line, format_kwh

meter_option = click.option(
    "--meter", "meter_id", default=None, help="Meter id (default: the first configured meter)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@contextmanager
def _opened_store(config: Config) -> Iterator[Store]:
    store = open_store(config)
    try:
        yield store
    finally:
        store.close()


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


# -- config ------------------------------------------------------------------------------
@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("check")
@config_option
@lang_option
def config_check(config_path: Path | None) -> None:
    """Validate the config file; print each problem with its key path.

    Besides the file itself: URL schemes, the Firebase credentials file (backend =
    firebase), the Blynk token (transport not off) and the meter blynk.meter names.
    """
    path = find_config_file(config_path)
    try:
        config = load_config(path)
    except ConfigError as err:
        click.echo(config_line(path, chosen_lang()), err=True)
        problems = cast(
            "list[tuple[str, str]]", err.params.get("problems") or [("(file)", err.detail)]
        )
        _echo_problems(problems, chosen_lang())
        raise SystemExit(EXIT_USAGE) from err
    lang = chosen_lang(config)
    click.echo(source_line(path, config, lang), err=True)
    problems = setup_problems(config, known_meters=_stored_meter_ids(config))
    if problems:
        _echo_problems(problems, lang)
        raise SystemExit(EXIT_USAGE)
    click.echo("OK")


def _echo_problems(problems: list[tuple[str, str]], lang: Lang) -> None:
    """One line per problem: its key path and what is wrong, in ``lang``."""
    for problem in problems:
        click.echo(config_problem_line(problem, lang))


def _stored_meter_ids(config: Config) -> set[str]:
    """Meters added with ``tokenmeter meter add`` to an existing SQLite store (a
    Firebase store is not reached by ``config check``)."""
    if config.store.backend != "sqlite" or not config.store.sqlite_path.is_file():
        return set()
    from tokenmeter.store.sqlite import SqliteStore

    store = SqliteStore(config.store.sqlite_path)
    try:
        return {meter.id for meter in store.registered_meters()}
    finally:
        store.close()


# -- schedule ----------------------------------------------------------------------------
def _schedule_json(meter_id: str, schedule: Schedule | None) -> dict[str, Any]:
    if schedule is None:
        return {"meter": meter_id, "times": [], "enabled": False, "stored": False}
    return {
        "meter": meter_id,
        "times": list(schedule.times),
        "enabled": schedule.enabled,
        "stored": True,
    }


_WORDS: dict[str, dict[Lang, str]] = {
    "no_schedule": {
        "id": "{meter}: belum ada jadwal tersimpan",
        "en": "{meter}: no schedule stored",
    },
    "no_times": {"id": "tanpa jam", "en": "no times"},
    "disabled": {"id": " (nonaktif)", "en": " (disabled)"},
    "removed": {
        "id": "{meter}: jadwal dihapus, tidak ada pemeriksaan terjadwal",
        "en": "{meter}: schedule removed, no scheduled checks",
    },
    "no_readings": {"id": "{meter}: belum ada pembacaan", "en": "{meter}: no readings yet"},
}

_STATUSES: dict[str, dict[Lang, str]] = {  # a column of history: short
    "ok": {"id": "terbaca", "en": "ok"},
    "unverified": {"id": "belum pasti", "en": "unverified"},
    "unreadable": {"id": "tak terbaca", "en": "unreadable"},
    "camera_error": {"id": "galat kamera", "en": "camera error"},
}

_SOURCES: dict[str, dict[Lang, str]] = {
    "schedule": {"id": "jadwal", "en": "schedule"},
    "rtc": {"id": "jadwal RTC", "en": "RTC"},
    "cli": {"id": "perintah", "en": "CLI"},
    "topup": {"id": "isi token", "en": "top-up"},
}

_NOTES: dict[str, dict[Lang, str]] = {  # why a reading failed, after its status
    "camera_unavailable": {"id": "tidak terhubung", "en": "not reached"},
    "camera_not_photo": {"id": "bukan foto", "en": "not a photo"},
    "camera_too_large": {"id": "jawaban terlalu besar", "en": "answer too large"},
    "implausible": {"id": "tidak masuk akal", "en": "not plausible"},
}


def _schedule_line(meter_id: str, schedule: Schedule | None, lang: Lang) -> str:
    if schedule is None:
        return _WORDS["no_schedule"][lang].format(meter=meter_id)
    times = ", ".join(schedule.times) or _WORDS["no_times"][lang]
    state = "" if schedule.enabled else _WORDS["disabled"][lang]
    return f"{meter_id}: {times}{state}"


def _stored_meter_id(config: Config, store: Store, meter_id: str | None) -> str:
    """A configured meter (the first when None), or one that is only in the store (a
    meter removed from the config); UnknownMeter otherwise."""
    try:
        return config.meter(meter_id).id
    except UnknownMeter:
        if meter_id is not None and (
            store.get_meter(meter_id) is not None or store.get_schedule(meter_id) is not None
        ):
            return meter_id
        raise


@click.group("schedule")
def schedule_group() -> None:
    """Show or change when a meter is checked.

    Times are HH:MM in the meter's own timezone.
    """


@schedule_group.command("show")
@meter_option
@json_option
@config_option
@lang_option
@user_errors
def schedule_show(meter_id: str | None, as_json: bool, config_path: Path | None) -> None:
    """Show the stored check times of a meter."""
    config = cli_config(config_path)
    with _opened_store(config) as store:
        meter = _stored_meter_id(config, store, meter_id)
        schedule = store.get_schedule(meter)
    if as_json:
        _echo_json(_schedule_json(meter, schedule))
    else:
        click.echo(_schedule_line(meter, schedule, chosen_lang(config)))


@schedule_group.command("set")
@click.argument("times", nargs=-1, required=True, metavar="HH:MM [HH:MM...]")
@meter_option
@json_option
@config_option
@lang_option
@user_errors
def schedule_set(
    times: tuple[str, ...], meter_id: str | None, as_json: bool, config_path: Path | None
) -> None:
    """Replace the check times of a meter.

    For example: tokenmeter schedule set 06:00 18:00 --meter rumah
    """
    config = cli_config(config_path)
    meter = config.meter(meter_id)
    wanted = Schedule.parse(list(times))  # a bad time stops here: nothing is written
    with _opened_store(config) as store:
        current = store.get_schedule(meter.id)
        schedule = Schedule(wanted.times, enabled=current.enabled if current else True)
        store.set_schedule(meter.id, schedule)
    if as_json:
        _echo_json(_schedule_json(meter.id, schedule))
    else:
        click.echo(_schedule_line(meter.id, schedule, chosen_lang(config)))


@schedule_group.command("remove")
@click.option(
    "--meter",
    "meter_id",
    required=True,
    help="Meter id; also one removed from the config whose schedule is still stored.",
)
@json_option
@config_option
@lang_option
@user_errors
def schedule_remove(meter_id: str, as_json: bool, config_path: Path | None) -> None:
    """Remove the check times of a meter: no more scheduled checks.

    A running service follows. For a meter removed from the config, this ends the
    warning the service gives at start. "schedule set" adds times again.
    """
    config = cli_config(config_path)
    with _opened_store(config) as store:
        meter = _stored_meter_id(config, store, meter_id)
        current = store.get_schedule(meter)
        schedule = Schedule((), enabled=current.enabled if current else True)
        store.set_schedule(meter, schedule)
    if as_json:
        _echo_json(_schedule_json(meter, schedule))
    else:
        click.echo(_WORDS["removed"][chosen_lang(config)].format(meter=meter))


# -- history -----------------------------------------------------------------------------
def _reading_json(reading: Reading) -> dict[str, Any]:
    return {
        "id": reading.id,
        "ts": ts_text(reading.ts),
        "kwh": reading.kwh,
        "status": reading.status.value,
        "source": reading.source,
        "confidence": reading.confidence,
        "error": reading.error,
        "photo": reading.photo,
    }


def _note(error: str, lang: Lang) -> str:
    """A stored error code in a few words (the status already says "unreadable")."""
    if not error or error == "unreadable":
        return ""
    if error.startswith("camera_http_"):
        return "HTTP " + error.removeprefix("camera_http_")
    key = "implausible" if error.startswith("implausible") else error
    return _NOTES.get(key, {}).get(lang, error)


def _reading_line(reading: Reading, zone: ZoneInfo, lang: Lang) -> str:
    when = reading.ts.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    value = f"{format_kwh(reading.kwh, lang)} kWh" if reading.kwh is not None else "-"
    status = _STATUSES.get(reading.status.value, {}).get(lang, reading.status.value)
    source = _SOURCES.get(reading.source, {}).get(lang, reading.source)
    note = _note(reading.error, lang)
    return f"{when}  {value:>14}  {status:<12} {source}" + (f"  ({note})" if note else "")


@click.command("history")
@meter_option
@click.option(
    "--last", "last", type=click.IntRange(min=1), default=20, show_default=True, help="How many."
)
@json_option
@config_option
@lang_option
@user_errors
def history(meter_id: str | None, last: int, as_json: bool, config_path: Path | None) -> None:
    """Show the last readings of a meter, oldest first."""
    config = cli_config(config_path)
    meter = config.meter(meter_id)
    with _opened_store(config) as store:
        readings = store.last_readings(meter.id, last)
    if as_json:
        _echo_json([_reading_json(r) for r in readings])
        return
    lang = chosen_lang(config)
    if not readings:
        click.echo(_WORDS["no_readings"][lang].format(meter=meter.id))
        return
    zone = ZoneInfo(meter.timezone)
    click.echo(f"{meter.id} ({meter.timezone}):")
    for reading in readings:
        click.echo(_reading_line(reading, zone, lang))


COMMANDS: list[click.Command] = [config_group, schedule_group, history]
