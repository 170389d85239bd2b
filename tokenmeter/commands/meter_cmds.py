"""``tokenmeter meter add|remove|rename|list|import``: meters kept as data in the store.

A running service sees added and renamed meters after a restart; a removed meter's
schedule ends at once (the scheduler follows the store), the meter itself leaves
the service at its next restart.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ParamSpec, TypeVar, cast

import click

from tokenmeter.commands.common import (
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_option,
    lang_option,
    user_errors,
)
from tokenmeter.config import Config
from tokenmeter.domain import Meter, Schedule
from tokenmeter.meter_registry import (
    MeterRefused,
    add_meter,
    import_rows,
    new_meter,
    parse_times,
    read_csv,
    remove_meter,
    rename_meter,
)
from tokenmeter.store.base import Store
from tokenmeter.store.factory import open_store
from tokenmeter.texts import Lang, config_problem_line, format_kwh

P = ParamSpec("P")
R = TypeVar("R")

_WORDS: dict[str, dict[Lang, str]] = {
    "added": {
        "id": "Meter {meter} ({name}) ditambahkan; jadwal: {times}.",
        "en": "Meter {meter} ({name}) added; schedule: {times}.",
    },
    "removed": {
        "id": "Meter {meter} dihapus: tidak ada pemeriksaan terjadwal lagi; riwayatnya tetap"
        " tersimpan.",
        "en": "Meter {meter} removed: no more scheduled checks; its history is kept.",
    },
    "renamed": {
        "id": "Meter {meter} sekarang bernama {name}.",
        "en": "Meter {meter} is now {name}.",
    },
    "restart": {
        "id": "Layanan yang sedang berjalan memakai perubahan ini setelah dimulai ulang.",
        "en": "A running service uses this change after a restart.",
    },
    "imported": {
        "id": "Impor: {added} ditambahkan, {updated} diperbarui, {skipped} dilewati"
        " (ada di berkas konfigurasi).",
        "en": "Import: {added} added, {updated} updated, {skipped} skipped (in the config file).",
    },
    "both": {
        "id": "Peringatan: {meter} ada di berkas konfigurasi dan di penyimpanan; blok"
        " [[meters]] yang dipakai.",
        "en": "Warning: {meter} is in the config file and in the store; the [[meters]]"
        " block is used.",
    },
    "no_times": {"id": "tanpa jam", "en": "no times"},
    "config": {"id": "konfigurasi", "en": "config"},
    "store": {"id": "penyimpanan", "en": "store"},
    "limit": {"id": "batas", "en": "alert below"},
}

_REFUSALS: dict[str, dict[Lang, str]] = {
    "in_config": {
        "id": "Meter {meter} diatur di berkas konfigurasi ([[meters]]); ubah di sana.",
        "en": "Meter {meter} is set in the config file ([[meters]]); change it there.",
    },
    "exists": {
        "id": "Meter {meter} sudah ada. Ganti nama dengan 'tokenmeter meter rename'.",
        "en": "Meter {meter} already exists. Rename it with 'tokenmeter meter rename'.",
    },
    "not_added": {
        "id": "Meter {meter} tidak ditambahkan dengan 'tokenmeter meter add'.",
        "en": "Meter {meter} was not added with 'tokenmeter meter add'.",
    },
    "invalid": {"id": "Isian tidak sah: {detail}", "en": "Invalid value: {detail}"},
    "csv": {
        "id": "Berkas CSV ditolak, tidak ada yang disimpan:",
        "en": "CSV file refused, nothing was stored:",
    },
}


def _refusals(func: Callable[P, R]) -> Callable[P, R]:
    """A refused change: its reason on stderr in the run's language, exit 2."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MeterRefused as err:
            lang = chosen_lang()
            template = _REFUSALS.get(err.reason, _REFUSALS["invalid"])[lang]
            problem = err.params.get("problem")
            detail = (
                config_problem_line(problem, lang) if isinstance(problem, tuple) else err.detail
            )
            click.echo(template.format(meter=err.meter, detail=detail), err=True)
            for line in cast("list[tuple[str, str]]", err.params.get("problems", [])):
                click.echo(f"  {config_problem_line(line, lang)}", err=True)
            raise SystemExit(EXIT_USAGE) from err

    return wrapper


@contextmanager
def _opened(config: Config) -> Iterator[tuple[set[str], Store]]:
    """The ids of the config's ``[[meters]]`` blocks, and the store (which then adds
    the stored meters to ``config.meters``)."""
    configured = {meter.id for meter in config.meters}
    store = open_store(config)
    try:
        yield configured, store
    finally:
        store.close()


def _times(schedule: Schedule | None, lang: Lang) -> str:
    return ", ".join(schedule.times) if schedule and schedule.times else _WORDS["no_times"][lang]


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def _meter_json(meter: Meter, schedule: Schedule | None, source: str) -> dict[str, Any]:
    return {
        "id": meter.id,
        "name": meter.name,
        "camera_url": meter.camera_url,
        "timezone": meter.timezone,
        "low_kwh": meter.low_kwh,
        "times": list(schedule.times) if schedule else [],
        "enabled": schedule.enabled if schedule else False,
        "source": source,
    }


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group("meter", short_help="Add, rename, remove, list and import meters.")
def meter_group() -> None:
    """Add, rename, remove and list meters kept in the store (no [[meters]] block).

    A [[meters]] block in the config file wins for an id in both. A running service
    sees added and renamed meters after a restart.
    """


@meter_group.command("add", short_help="Add a meter kept in the store.")
@click.argument("meter_id", metavar="ID")
@click.option("--name", default="", help="Display name (default: the id).")
@click.option("--camera-url", required=True, help="ESP32-CAM snapshot URL, or 'sim:'.")
@click.option("--low-kwh", type=float, default=10.0, show_default=True, help="Alert below.")
@click.option("--timezone", default="Asia/Jakarta", show_default=True, help="IANA timezone.")
@click.option(
    "--time",
    "times",
    multiple=True,
    metavar="HH:MM",
    help="Check time (repeat); default 06:00, 18:00.",
)
@json_option
@config_option
@lang_option
@user_errors
@_refusals
def meter_add(
    meter_id: str,
    name: str,
    camera_url: str,
    low_kwh: float,
    timezone: str,
    times: tuple[str, ...],
    as_json: bool,
    config_path: Path | None,
) -> None:
    """Add a meter, e.g. tokenmeter meter add kamar-7 --name "Kamar 7" --camera-url URL"""
    config = cli_config(config_path)
    meter = new_meter(
        meter_id, name=name, camera_url=camera_url, low_kwh=low_kwh, timezone=timezone
    )
    wanted = parse_times(times) if times else None  # a bad time: nothing written
    with _opened(config) as (configured, store):
        schedule = add_meter(configured, store, meter, wanted)
    if as_json:
        _echo_json(_meter_json(meter, schedule, "store"))
        return
    lang = chosen_lang(config)
    click.echo(
        _WORDS["added"][lang].format(meter=meter.id, name=meter.name, times=_times(schedule, lang))
    )
    click.echo(_WORDS["restart"][lang])


@meter_group.command("remove", short_help="Remove an added meter; its history stays.")
@click.argument("meter_id", metavar="ID")
@json_option
@config_option
@lang_option
@user_errors
@_refusals
def meter_remove(meter_id: str, as_json: bool, config_path: Path | None) -> None:
    """Remove a meter added with "meter add": its schedule ends, its history stays."""
    config = cli_config(config_path)
    with _opened(config) as (configured, store):
        remove_meter(configured, store, meter_id)
    if as_json:
        _echo_json({"id": meter_id, "removed": True, "times": []})
        return
    lang = chosen_lang(config)
    click.echo(_WORDS["removed"][lang].format(meter=meter_id))
    click.echo(_WORDS["restart"][lang])


@meter_group.command("rename")
@click.argument("meter_id", metavar="ID")
@click.argument("name")
@json_option
@config_option
@lang_option
@user_errors
@_refusals
def meter_rename(meter_id: str, name: str, as_json: bool, config_path: Path | None) -> None:
    """Give a meter added with "meter add" a new display name."""
    config = cli_config(config_path)
    with _opened(config) as (configured, store):
        meter = rename_meter(configured, store, meter_id, name)
        schedule = store.get_schedule(meter_id)
    if as_json:
        _echo_json(_meter_json(meter, schedule, "store"))
        return
    lang = chosen_lang(config)
    click.echo(_WORDS["renamed"][lang].format(meter=meter.id, name=meter.name))
    click.echo(_WORDS["restart"][lang])


@meter_group.command("list")
@json_option
@config_option
@lang_option
@user_errors
def meter_list(as_json: bool, config_path: Path | None) -> None:
    """List every meter: from the config file and from the store."""
    config = cli_config(config_path)
    with _opened(config) as (configured, store):
        stored = {meter.id for meter in store.registered_meters()}
        rows = [  # the stored config: its threshold is the one /batas changed
            (store.get_meter(b.id) or b.to_meter(), store.get_schedule(b.id), b.id in configured)
            for b in config.meters
        ]
    if as_json:
        _echo_json([_meter_json(m, s, "config" if c else "store") for m, s, c in rows])
        return
    lang = chosen_lang(config)
    width = max(len(meter.id) for meter, _, _ in rows)
    for meter, schedule, from_config in rows:
        source = _WORDS["config" if from_config else "store"][lang]
        limit = f"{_WORDS['limit'][lang]} {format_kwh(meter.low_kwh, lang)} kWh"
        click.echo(
            f"{meter.id:<{width}}  {meter.name}  [{source}]  {limit}  "
            f"{_times(schedule, lang)}  {meter.camera_url}"
        )
    for meter_id in sorted(stored & configured):
        click.echo(_WORDS["both"][lang].format(meter=meter_id), err=True)


@meter_group.command("import", short_help="Add or update meters from a CSV file.")
@click.argument("csv_path", metavar="FILE.csv", type=click.Path(path_type=Path, dir_okay=False))
@json_option
@config_option
@lang_option
@user_errors
@_refusals
def meter_import(csv_path: Path, as_json: bool, config_path: Path | None) -> None:
    """Add or update meters from a CSV file (columns: id, name, camera_url, low_kwh,
    timezone, schedule; "," or ";" separated). Every row is checked first: one bad
    row and nothing is stored."""
    config = cli_config(config_path)
    rows = read_csv(csv_path)
    with _opened(config) as (configured, store):
        result = import_rows(configured, store, rows)
    if as_json:
        _echo_json(
            {"added": result.added, "updated": result.updated, "in_config": result.in_config}
        )
        return
    lang = chosen_lang(config)
    click.echo(
        _WORDS["imported"][lang].format(
            added=len(result.added), updated=len(result.updated), skipped=len(result.in_config)
        )
    )
    for meter_id in result.in_config:
        click.echo(_REFUSALS["in_config"][lang].format(meter=meter_id), err=True)
    if result.added or result.updated:
        click.echo(_WORDS["restart"][lang])


COMMANDS: list[click.Command] = [meter_group]
