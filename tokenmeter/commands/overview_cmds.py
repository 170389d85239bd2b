"""``tokenmeter status``: every meter's balance, days left, last check, devices and open
top-ups, what needs action first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from tokenmeter.commands.common import (
    chosen_lang,
    cli_config,
    config_option,
    lang_option,
    user_errors,
)
from tokenmeter.domain import utcnow
from tokenmeter.overview import MeterOverview, overview, overview_text
from tokenmeter.store.factory import open_store
from tokenmeter.store.records import ts_text


def overview_json(item: MeterOverview) -> dict[str, Any]:
    balance = item.balance
    return {
        "meter": item.meter.id,
        "name": item.meter.name,
        "kwh": balance.kwh if balance is not None else None,
        "kwh_ts": ts_text(balance.ts) if balance is not None else None,
        "kwh_per_day": item.kwh_per_day,
        "days_left": item.days_left,
        "last_check": ts_text(item.latest.ts) if item.latest is not None else None,
        "last_status": item.latest.status.value if item.latest is not None else None,
        "devices": {d.name: d.online for d in item.devices},
        "open_topups": [
            {"id": t.id, "masked": t.masked, "status": t.status.value} for t in item.open_topups
        ],
        "problems": list(item.problems),
    }


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
@lang_option
@user_errors
def status(as_json: bool, config_path: Path | None) -> None:
    """Show every meter at a glance, what needs action first.

    Balance, days left, last check, devices and open top-ups."""
    config = cli_config(config_path)
    store = open_store(config)
    try:
        now = utcnow()
        items = overview(store, [m.to_meter() for m in config.meters], now)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([overview_json(i) for i in items], indent=2, ensure_ascii=False))
        return
    click.echo(overview_text(items, now, chosen_lang(config)))


COMMANDS: list[click.Command] = [status]
