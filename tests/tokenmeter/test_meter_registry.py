"""Meters kept as data: merging into the config and reading a meter CSV."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenmeter.config import Config, MeterConfig
from tokenmeter.domain import Meter, Schedule
from tokenmeter.meter_registry import MeterRefused, merge_registered, read_csv
from tokenmeter.store.sqlite import SqliteStore


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    return SqliteStore(tmp_path / "t.db")


def test_merge_appends_once(store: SqliteStore) -> None:
    """Registered meters are appended after the blocks; a second merge adds nothing."""
    config = Config(meters=[MeterConfig(id="rumah")])
    store.register_meter(Meter("kamar-1", "Kamar 1", low_kwh=3.0, camera_url="sim:"))
    assert merge_registered(config, store) == []
    assert merge_registered(config, store) == []
    assert [(m.id, m.low_kwh) for m in config.meters] == [("rumah", 10.0), ("kamar-1", 3.0)]
    store.close()


def test_merge_block_wins(store: SqliteStore, caplog: pytest.LogCaptureFixture) -> None:
    """For an id in both the block stays and a warning names the id."""
    config = Config(meters=[MeterConfig(id="rumah", name="Rumah")])
    store.register_meter(Meter("rumah", "Lain"))
    assert merge_registered(config, store) == ["rumah"]
    assert config.meters[0].name == "Rumah"
    assert "meter rumah is in the config file" in caplog.text
    store.close()


def test_merge_skips_a_stored_meter_that_is_not_valid(store: SqliteStore) -> None:
    """A stored meter a block could not hold (edited by hand) is skipped, not raised."""
    config = Config(meters=[MeterConfig(id="rumah")])
    store.register_meter(Meter("kamar-1", "Kamar 1", timezone="Mars/Base"))
    assert merge_registered(config, store) == []
    assert [m.id for m in config.meters] == ["rumah"]
    store.close()


def test_read_csv_with_bom_and_defaults(tmp_path: Path) -> None:
    """A spreadsheet's BOM, empty cells (defaults) and times split by spaces or commas."""
    path = tmp_path / "m.csv"
    path.write_text(
        '\ufeffid,camera_url,schedule\nkamar-1,sim:,"06:00, 18:30"\nkamar-2,sim:,\n',
        encoding="utf-8",
    )
    rows = read_csv(path)
    assert [(r.meter.id, r.meter.name, r.meter.low_kwh) for r in rows] == [
        ("kamar-1", "kamar-1", 10.0),
        ("kamar-2", "kamar-2", 10.0),
    ]
    assert rows[0].schedule == Schedule(("06:00", "18:30"))
    assert rows[1].schedule is None


def test_read_csv_refuses_unknown_and_missing_columns(tmp_path: Path) -> None:
    """A header without camera_url or with an unknown column is refused whole."""
    path = tmp_path / "m.csv"
    path.write_text("id,kamera\nkamar-1,sim:\n", encoding="utf-8")
    with pytest.raises(MeterRefused) as caught:
        read_csv(path)
    assert caught.value.params["problems"] == [
        ("camera_url", "missing column"),
        ("kamera", "unknown column"),
    ]
