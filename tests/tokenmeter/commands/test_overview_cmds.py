"""``tokenmeter status`` through the real CLI and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from tests.tokenmeter.store.contract import make_reading
from tokenmeter.cli import main
from tokenmeter.config import load_config
from tokenmeter.domain import utcnow
from tokenmeter.store.sqlite import SqliteStore


def test_status_lists_every_meter_action_first(tmp_path: Path) -> None:
    """Text in Indonesian (the low meter first), JSON with the figures, English on ask."""
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n'
        '[[meters]]\nid = "k1"\nname = "Kamar 1"\n'
        '[[meters]]\nid = "k2"\nname = "Kamar 2"\n',
        encoding="utf-8",
    )
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    now = utcnow()
    store.add_reading(make_reading("k1", 0, 40.0, ts=now))
    store.add_reading(make_reading("k2", 0, 4.5, ts=now))
    store.close()
    runner = CliRunner()
    result = runner.invoke(main, ["status", "--config", str(config_file)], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2 meter, 1 perlu tindakan",
        "⚠️ Kamar 2: 4,5 kWh · 0 menit lalu · di bawah batas",
        "✅ Kamar 1: 40,0 kWh · 0 menit lalu",
    ]
    result = runner.invoke(main, ["status", "--json", "--config", str(config_file)])
    first = json.loads(result.stdout)[0]
    assert first["meter"] == "k2" and first["kwh"] == 4.5 and first["problems"] == ["low"]
    result = runner.invoke(main, ["status", "--lang", "en", "--config", str(config_file)])
    assert result.stdout.splitlines()[0] == "2 meter(s), 1 need action"
