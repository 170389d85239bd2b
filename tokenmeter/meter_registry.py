"""Meters kept as data: added, renamed, removed and imported without a ``[[meters]]`` block.

The store marks such meters (``Store.register_meter``) and ``open_store`` appends
them to ``config.meters`` (``merge_registered``), so the service, the scheduler,
the doors and the commands treat them like configured ones. For an id that has a
``[[meters]]`` block *and* a mark, the block wins and a warning is logged.

Removing a meter removes the mark and its check times; its config, readings,
top-ups and photos stay, and adding the same id again continues its history.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from tokenmeter.config import Config, MeterConfig
from tokenmeter.config_problem import ConfigProblem, validation_problems
from tokenmeter.domain import Meter, Schedule
from tokenmeter.errors import InvalidSchedule, StoreUnavailable, TokenmeterError
from tokenmeter.store.base import Store

log = logging.getLogger(__name__)

DEFAULT_TIMES = ("06:00", "18:00")
CSV_COLUMNS = ("id", "name", "camera_url", "low_kwh", "timezone", "schedule")
MAX_NAME = 60


class MeterRefused(TokenmeterError):
    """A meter change that was refused before anything was written.

    ``reason``: ``in_config`` (the id has a ``[[meters]]`` block: change it there),
    ``exists`` (already added), ``not_added`` (no meter added as data with this id),
    ``invalid`` (``detail`` names the field; ``problem``, a ``ConfigProblem``, words it
    in any language), ``csv`` (``problems``: a ``ConfigProblem`` per bad column or row).
    """

    code = "meter_refused"

    def __init__(self, reason: str, meter: str = "", detail: str = "", **params: object) -> None:
        super().__init__(detail or reason, meter=meter, **params)
        self.reason = reason
        self.meter = meter


def meter_config(meter: Meter) -> MeterConfig:
    """The ``[[meters]]`` block a stored meter stands for (validated like one)."""
    return MeterConfig(
        id=meter.id,
        name=meter.name,
        camera_url=meter.camera_url,
        timezone=meter.timezone,
        low_kwh=meter.low_kwh,
    )


def merge_registered(config: Config, store: Store) -> list[str]:
    """Append the store's registered meters to ``config.meters``; return the ids that
    also have a ``[[meters]]`` block (the block wins; each is logged as a warning).

    Calling it again on the same config adds nothing twice.
    """
    present = {meter.id: meter for meter in config.meters}
    added: list[MeterConfig] = []
    both: list[str] = []
    for meter in store.registered_meters():
        try:
            block = meter_config(meter)
        except ValidationError as err:
            log.warning("stored meter %s ignored: %s", meter.id, _first_problem(err))
            continue
        if meter.id not in present:
            added.append(block)
        elif present[meter.id] != block:
            both.append(meter.id)
            log.warning(
                "meter %s is in the config file and was added with 'tokenmeter meter add';"
                " the config file's [[meters]] block is used",
                meter.id,
            )
    if added:
        config.meters = [*config.meters, *added]
    return both


def merge_registered_quietly(config: Config, store: Store) -> None:
    """``merge_registered`` for ``open_store``: a store that is away is logged, not raised."""
    try:
        merge_registered(config, store)
    except StoreUnavailable as err:
        log.warning("could not read the meters kept in the store: %s", err)


def _first_problem(err: ValidationError) -> str:
    problem = err.errors()[0]
    where = ".".join(str(part) for part in problem["loc"])
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _invalid(meter_id: str, problem: ConfigProblem) -> MeterRefused:
    """MeterRefused("invalid") for one bad value; ``problem`` words it in any language."""
    return MeterRefused("invalid", meter_id, f"{problem.key}: {problem.message}", problem=problem)


def new_meter(
    meter_id: str,
    *,
    name: str = "",
    camera_url: str,
    low_kwh: float = 10.0,
    timezone: str = "Asia/Jakarta",
) -> Meter:
    """A meter checked like a ``[[meters]]`` block; MeterRefused("invalid") otherwise."""
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise _invalid(
            meter_id,
            ConfigProblem(
                "name",
                f"at most {MAX_NAME} characters",
                "string_too_long",
                {"max_length": MAX_NAME},
            ),
        )
    try:
        block = MeterConfig(
            id=meter_id, name=name, camera_url=camera_url, low_kwh=low_kwh, timezone=timezone
        )
    except ValidationError as err:
        raise _invalid(meter_id, validation_problems(err)[0]) from err
    if not block.camera_url.strip():
        raise _invalid(meter_id, ConfigProblem("camera_url", "empty", "missing"))
    return block.to_meter()


def parse_times(times: Iterable[str]) -> Schedule:
    """Check times given as ``HH:MM`` words; MeterRefused("invalid") for a bad one."""
    try:
        return Schedule.parse(list(times))
    except InvalidSchedule as err:
        time = str(err.params.get("time", err.detail))
        problem = ConfigProblem("schedule", f"{err.detail} (HH:MM)", "schedule", {"time": time})
        raise _invalid("", problem) from err


def _refuse_configured(configured: set[str], meter_id: str) -> None:
    if meter_id in configured:
        raise MeterRefused("in_config", meter_id)


def _registered_ids(store: Store) -> set[str]:
    return {meter.id for meter in store.registered_meters()}


def end_schedule(store: Store, meter_id: str) -> Schedule:
    """No more scheduled checks (what ``tokenmeter schedule remove`` stores)."""
    current = store.get_schedule(meter_id)
    schedule = Schedule((), enabled=current.enabled if current else True)
    store.set_schedule(meter_id, schedule)
    return schedule


def add_meter(
    configured: set[str], store: Store, meter: Meter, schedule: Schedule | None = None
) -> Schedule:
    """Register a new meter with its check times (default 06:00 and 18:00)."""
    _refuse_configured(configured, meter.id)
    if meter.id in _registered_ids(store):
        raise MeterRefused("exists", meter.id)
    schedule = schedule if schedule is not None else Schedule(DEFAULT_TIMES)
    store.register_meter(meter)
    store.set_schedule(meter.id, schedule)
    return schedule


def remove_meter(configured: set[str], store: Store, meter_id: str) -> None:
    """Unregister a meter and end its schedule; its history stays."""
    _refuse_configured(configured, meter_id)
    if not store.unregister_meter(meter_id):
        raise MeterRefused("not_added", meter_id)
    end_schedule(store, meter_id)


def rename_meter(configured: set[str], store: Store, meter_id: str, name: str) -> Meter:
    """Give a registered meter a new display name."""
    _refuse_configured(configured, meter_id)
    stored = {meter.id: meter for meter in store.registered_meters()}.get(meter_id)
    if stored is None:
        raise MeterRefused("not_added", meter_id)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise _invalid(
            meter_id,
            ConfigProblem("name", f"1-{MAX_NAME} characters", "name_length", {"max": MAX_NAME}),
        )
    renamed = replace(stored, name=name)
    store.register_meter(renamed)
    return renamed


# -- CSV import ------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportRow:
    meter: Meter
    schedule: Schedule | None  # None: the column was empty


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    in_config: list[str] = field(default_factory=list)  # skipped: a [[meters]] block wins


def _number(text: str) -> float:
    """``4.5``, ``4,5`` (Indonesian spreadsheets) or empty (the default)."""
    text = text.strip()
    if not text:
        return 10.0
    return float(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)


def _row(raw: dict[str | None, str | None]) -> ImportRow:
    cell = {key.strip().lower(): (value or "").strip() for key, value in raw.items() if key}
    meter_id = cell.get("id", "")
    try:
        low_kwh = _number(cell.get("low_kwh", ""))
    except ValueError as err:
        raise _invalid(meter_id, ConfigProblem("low_kwh", "not a number", "float_parsing")) from err
    meter = new_meter(
        meter_id,
        name=cell.get("name", ""),
        camera_url=cell.get("camera_url", ""),
        low_kwh=low_kwh,
        timezone=cell.get("timezone", "") or "Asia/Jakarta",
    )
    times = cell.get("schedule", "")
    schedule = parse_times(re.split(r"[\s,;]+", times.strip())) if times.strip() else None
    return ImportRow(meter, schedule)


def read_csv(path: Path) -> list[ImportRow]:
    """Every row of a meter CSV (``,`` or ``;`` separated, header row required), all
    checked before anything is written: MeterRefused("csv") lists every bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        detail = str(err.strerror if isinstance(err, OSError) and err.strerror else err)
        code = "file_not_found" if isinstance(err, FileNotFoundError) else "file_unreadable"
        problem = ConfigProblem(str(path), detail, code, {"detail": detail})
        raise MeterRefused("csv", "", problems=[problem]) from err
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    missing = [name for name in ("id", "camera_url") if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if missing or unknown:
        bad = [ConfigProblem(name, "missing column", "csv_missing_column") for name in missing]
        bad += [ConfigProblem(name, "unknown column", "csv_unknown_column") for name in unknown]
        raise MeterRefused("csv", "", problems=bad)
    rows: list[ImportRow] = []
    problems: list[ConfigProblem] = []
    seen: set[str] = set()
    for number, raw in enumerate(reader, start=2):
        try:
            row = _row(dict(raw))
        except MeterRefused as err:
            where = f"{number}: {err.meter or '-'}"
            inner = err.params.get("problem")
            if isinstance(inner, ConfigProblem):
                problems.append(
                    ConfigProblem(f"{where}: {inner.key}", inner.message, inner.code, inner.params)
                )
            else:
                problems.append(ConfigProblem(where, err.detail))
            continue
        if row.meter.id in seen:
            problems.append(
                ConfigProblem(f"{number}", "id appears twice", "meter_twice", {"id": row.meter.id})
            )
        seen.add(row.meter.id)
        rows.append(row)
    if problems:
        raise MeterRefused("csv", "", problems=problems)
    return rows


def import_rows(configured: set[str], store: Store, rows: Sequence[ImportRow]) -> ImportResult:
    """Add new meters, update registered ones (times only when the row gives them);
    ids with a ``[[meters]]`` block are skipped."""
    result = ImportResult()
    registered = _registered_ids(store)
    for row in rows:
        meter_id = row.meter.id
        if meter_id in configured:
            result.in_config.append(meter_id)
            continue
        store.register_meter(row.meter)
        if meter_id in registered:
            result.updated.append(meter_id)
            if row.schedule is not None:
                store.set_schedule(meter_id, row.schedule)
        else:
            result.added.append(meter_id)
            store.set_schedule(meter_id, row.schedule or Schedule(DEFAULT_TIMES))
    return result
