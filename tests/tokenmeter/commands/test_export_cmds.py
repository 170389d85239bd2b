"""``tokenmeter export`` through the real CLI and SQLite: contents, formats, billing."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from tests.tokenmeter.store.contract import make_reading, make_topup
from tokenmeter.cli import main
from tokenmeter.config import load_config
from tokenmeter.domain import TopUpStatus
from tokenmeter.store.sqlite import SqliteStore

TOKEN = "57132846009177345521"


def make_file(tmp_path: Path, tariff: float = 0.0) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n'
        f"[billing]\ntariff_rp_per_kwh = {tariff}\n"
        '[[meters]]\nid = "k1"\nname = "Kamar 1"\n'
        '[[meters]]\nid = "k2"\nname = "Kamar 2"\n',
        encoding="utf-8",
    )
    store = SqliteStore(load_config(path).store.sqlite_path)
    # T0 is 2026-11-20 06:00 UTC = 13:00 WIB. k1 uses 2 kWh a day, a top-up on day 2.
    for day, kwh in enumerate([50.0, 48.0, 46.0, 94.0, 92.0]):
        store.add_reading(make_reading("k1", day * 24 * 60 // 2, kwh))
    topup = make_topup("k1", "t1", TOKEN)
    store.create_topup(topup)
    done = topup.moved(TopUpStatus.CONFIRMED, "typed")
    confirmed = replace(done, before=46.0, after=96.0)
    store.transition_topup("k1", "t1", frozenset({TopUpStatus.PENDING}), confirmed)
    store.add_reading(make_reading("k2", 0, 20.0))
    store.add_reading(make_reading("k2", 24 * 60, 15.0, id="r2"))
    store.close()
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_csv_holds_readings_daily_topups_and_monthly(tmp_path: Path) -> None:
    """Every part in one CSV; the token only masked; usage counts falls, not the top-up."""
    config = make_file(tmp_path)
    code, out, _ = run(
        "export", "--from", "2026-11-01", "--to", "2026-11-30", "--config", str(config)
    )
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    kinds = [r["kind"] for r in rows]
    assert kinds.count("reading") == 7 and kinds.count("topup") == 1
    assert TOKEN not in out and "****-****-****-****-5521" in out
    monthly = {r["meter"]: r for r in rows if r["kind"] == "monthly"}
    assert monthly["k1"]["date"] == "2026-11" and float(monthly["k1"]["kwh"]) == 6.0
    assert float(monthly["k2"]["kwh"]) == 5.0 and monthly["k2"]["amount_rp"] == ""
    daily = [
        (r["date"], float(r["kwh"])) for r in rows if r["kind"] == "daily" and r["meter"] == "k1"
    ]
    assert daily == [("2026-11-21", 4.0), ("2026-11-22", 2.0)]
    (topup,) = [r for r in rows if r["kind"] == "topup"]
    assert float(topup["credit_kwh"]) == 50.0 and topup["status"] == "CONFIRMED"


def test_json_one_meter_a_span_and_a_tariff(tmp_path: Path) -> None:
    """--meter and the days limit the export; a tariff gives rupiah; --out prints the bill."""
    config = make_file(tmp_path, tariff=1444.7)
    out_file = tmp_path / "k2.json"
    code, out, _ = run(
        "export",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-21",
        "--meter",
        "k2",
        "--format",
        "json",
        "--out",
        str(out_file),
        "--config",
        str(config),
    )
    assert code == 0
    assert out.splitlines() == ["Kamar 2 2026-11: 5,0 kWh ≈ Rp 7.224", f"Ditulis ke {out_file}."]
    data = json.loads(out_file.read_text(encoding="utf-8"))
    assert {r["meter"] for r in data["readings"]} == {"k2"}
    assert data["monthly"] == [
        {"meter": "k2", "name": "Kamar 2", "date": "2026-11", "kwh": 5.0, "amount_rp": 7224}
    ]
    code, out, _ = run(
        "export",
        "--from",
        "2026-11-20",
        "--to",
        "2026-11-20",
        "--meter",
        "k2",
        "--format",
        "json",
        "--config",
        str(config),
    )
    assert len(json.loads(out)["readings"]) == 1  # the second reading is on the 21st


def test_a_reversed_span_is_refused(tmp_path: Path) -> None:
    """--from after --to: one sentence, exit 2."""
    config = make_file(tmp_path)
    code, _, err = run(
        "export", "--from", "2026-11-30", "--to", "2026-11-01", "--config", str(config)
    )
    assert code == 2 and "--from harus sebelum" in err and "Traceback" not in err
