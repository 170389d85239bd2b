"""``tokenmeter export``: readings, daily usage, top-ups and monthly usage per meter."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from tokenmeter.commands.common import (
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_option,
    lang_option,
    user_errors,
)
from tokenmeter.export import build_export, export_csv, export_json, monthly_lines
from tokenmeter.store.factory import open_store

_WORDS = {
    "order": {
        "id": "--from harus sebelum atau sama dengan --to.",
        "en": "--from must be on or before --to.",
    },
    "written": {"id": "Ditulis ke {path}.", "en": "Written to {path}."},
}


@click.command("export")
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="First local day, YYYY-MM-DD.",
)
@click.option(
    "--to",
    "last",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="Last local day (included), YYYY-MM-DD.",
)
@click.option("--meter", "meter_id", default=None, help="Only this meter (default: every meter).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write to this file instead of the standard output.",
)
@config_option
@lang_option
@user_errors
def export(
    first: datetime,
    last: datetime,
    meter_id: str | None,
    fmt: str,
    out: Path | None,
    config_path: Path | None,
) -> None:
    """Export readings, usage and top-ups (CSV or JSON).

    Readings, daily usage, top-ups (tokens masked) and monthly usage per meter, the
    billing basis (with an estimate in rupiah when a tariff is configured)."""
    config = cli_config(config_path)
    lang = chosen_lang(config)
    if first > last:
        click.echo(_WORDS["order"][lang], err=True)
        raise SystemExit(EXIT_USAGE)
    configured = [config.meter(meter_id)] if meter_id else config.meters
    store = open_store(config)
    try:
        data = build_export(
            store,
            [m.to_meter() for m in configured],
            first.date(),
            last.date(),
            config.billing.tariff_rp_per_kwh,
        )
    finally:
        store.close()
    text = export_csv(data) if fmt == "csv" else export_json(data)
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    for line in monthly_lines(data, lang):
        click.echo(line)
    click.echo(_WORDS["written"][lang].format(path=out))


COMMANDS: list[click.Command] = [export]
