"""``tokenmeter meter add|remove|rename|list|import``, through the real CLI and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tokenmeter.commands.clikit import invoke, sqlite_config
from tests.tokenmeter.store.contract import make_reading
from tokenmeter.app import build_core
from tokenmeter.config import load_config
from tokenmeter.domain import Meter, Schedule
from tokenmeter.store.factory import open_store
from tokenmeter.store.sqlite import SqliteStore


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return sqlite_config(
        tmp_path,
        """
[[meters]]
id = "rumah"
name = "Rumah"
""",
    )


def run(config_file: Path, *args: str) -> tuple[int, str, str]:
    return invoke(*args, "--config", str(config_file))


def opened(config_file: Path) -> SqliteStore:
    return SqliteStore(load_config(config_file).store.sqlite_path)


def add_kamar(config_file: Path, number: int, *extra: str) -> tuple[int, str, str]:
    return run(
        config_file,
        "meter",
        "add",
        f"kamar-{number}",
        "--name",
        f"Kamar {number}",
        "--camera-url",
        f"http://10.0.0.{number}/capture",
        *extra,
    )


def test_add_then_list(config_file: Path) -> None:
    """An added meter is listed after the configured one, with its source and times."""
    code, out, err = add_kamar(config_file, 7, "--low-kwh", "4.5", "--time", "07:00")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Meter kamar-7 (Kamar 7) ditambahkan; jadwal: 07:00.",
        "Layanan yang sedang berjalan memakai perubahan ini setelah dimulai ulang.",
    ]
    code, out, _ = run(config_file, "meter", "list")
    assert code == 0
    assert out.splitlines() == [
        "rumah    Rumah  [konfigurasi]  batas 10,00 kWh  06:00, 18:00  sim:",
        "kamar-7  Kamar 7  [penyimpanan]  batas 4,50 kWh  07:00  http://10.0.0.7/capture",
    ]


def test_list_json_and_english(config_file: Path) -> None:
    """--json gives numbers as numbers; --lang en words the text in English."""
    add_kamar(config_file, 3)
    code, out, _ = run(config_file, "meter", "list", "--json")
    assert code == 0
    listed = json.loads(out)
    assert listed[1] == {
        "id": "kamar-3",
        "name": "Kamar 3",
        "camera_url": "http://10.0.0.3/capture",
        "timezone": "Asia/Jakarta",
        "low_kwh": 10.0,
        "times": ["06:00", "18:00"],
        "enabled": True,
        "source": "store",
    }
    _, out, _ = run(config_file, "meter", "list", "--lang", "en")
    assert "kamar-3  Kamar 3  [store]  alert below 10.00 kWh" in out


def test_service_sees_stored_meters(config_file: Path) -> None:
    """The composition root (the service at start) has the added meter, sim included."""
    run(config_file, "meter", "add", "kamar-9", "--camera-url", "sim:")
    core = build_core(load_config(config_file))
    try:
        assert [m.id for m in core.config.meters] == ["rumah", "kamar-9"]
        assert "kamar-9" in core.sim_meters
    finally:
        core.store.close()


def test_status_shows_stored_meters(config_file: Path) -> None:
    """tokenmeter status lists the added meter too."""
    add_kamar(config_file, 2)
    code, out, _ = run(config_file, "status", "--json")
    assert code == 0
    assert {item["meter"] for item in json.loads(out)} == {"rumah", "kamar-2"}


def test_remove_ends_schedule_and_keeps_history(config_file: Path) -> None:
    """Removing a meter ends its schedule; readings stay and it leaves the list."""
    add_kamar(config_file, 7)
    store = opened(config_file)
    store.add_reading(make_reading("kamar-7", 1, kwh=40.0))
    store.close()
    code, out, _ = run(config_file, "meter", "remove", "kamar-7")
    assert code == 0
    assert out.startswith("Meter kamar-7 dihapus")
    store = opened(config_file)
    try:
        assert store.get_schedule("kamar-7") == Schedule(())
        assert [r.kwh for r in store.last_readings("kamar-7", 5)] == [40.0]
    finally:
        store.close()
    _, out, _ = run(config_file, "meter", "list", "--json")
    assert [item["id"] for item in json.loads(out)] == ["rumah"]
    # adding it again continues its history
    assert add_kamar(config_file, 7)[0] == 0
    store = opened(config_file)
    try:
        assert len(store.last_readings("kamar-7", 5)) == 1
    finally:
        store.close()


def test_refusals_write_nothing(config_file: Path) -> None:
    """A configured id, a repeat, an unknown id and bad values are refused with exit 2."""
    code, _, err = run(config_file, "meter", "add", "rumah", "--camera-url", "sim:")
    assert (code, err) == (
        2,
        "Meter rumah diatur di berkas konfigurasi ([[meters]]); ubah di sana.\n",
    )
    add_kamar(config_file, 1)
    assert add_kamar(config_file, 1)[0] == 2
    code, _, err = run(config_file, "meter", "remove", "kamar-5", "--lang", "en")
    assert (code, err) == (2, "Meter kamar-5 was not added with 'tokenmeter meter add'.\n")
    code, _, err = add_kamar(config_file, 4, "--time", "25:00")
    assert code == 2 and err.startswith("Isian tidak sah: schedule:")
    code, _, err = run(config_file, "meter", "add", "bad id", "--camera-url", "sim:")
    assert code == 2 and err.startswith("Isian tidak sah: id:")
    code, _, err = add_kamar(config_file, 6, "--timezone", "Mars/Base")
    assert (code, err) == (2, "Isian tidak sah: timezone: zona waktu 'Mars/Base' tidak dikenal\n")
    code, _, err = add_kamar(config_file, 6, "--timezone", "Mars/Base", "--lang", "en")
    assert (code, err) == (2, "Invalid value: timezone: unknown timezone 'Mars/Base'\n")
    _, out, _ = run(config_file, "meter", "list", "--json")
    assert [item["id"] for item in json.loads(out)] == ["rumah", "kamar-1"]


def test_rename(config_file: Path) -> None:
    """A stored meter is renamed; a configured one is refused."""
    add_kamar(config_file, 7)
    code, out, _ = run(config_file, "meter", "rename", "kamar-7", "Kamar  Tujuh ")
    assert (code, out.splitlines()[0]) == (0, "Meter kamar-7 sekarang bernama Kamar Tujuh.")
    assert run(config_file, "meter", "rename", "rumah", "X")[0] == 2
    assert run(config_file, "meter", "rename", "kamar-7", "  ")[0] == 2
    store = opened(config_file)
    try:
        meter = store.get_meter("kamar-7")
        assert meter is not None and meter.name == "Kamar Tujuh"
    finally:
        store.close()


def test_import_csv(config_file: Path, tmp_path: Path) -> None:
    """A semicolon CSV with Indonesian decimals adds, updates and skips configured ids."""
    add_kamar(config_file, 1)
    csv_path = tmp_path / "kamar.csv"
    csv_path.write_text(
        "id;name;camera_url;low_kwh;schedule\n"
        "kamar-1;Kamar Satu;http://10.0.0.1/capture;5,5;\n"
        "kamar-2;Kamar 2;sim:;4;06:30 19:00\n"
        "rumah;Rumah;sim:;;\n",
        encoding="utf-8",
    )
    code, out, err = run(config_file, "meter", "import", str(csv_path))
    assert code == 0
    assert (
        out.splitlines()[0]
        == "Impor: 1 ditambahkan, 1 diperbarui, 1 dilewati (ada di berkas konfigurasi)."
    )
    assert "rumah" in err
    _, out, _ = run(config_file, "meter", "list", "--json")
    listed = {item["id"]: item for item in json.loads(out)}
    assert listed["kamar-1"]["name"] == "Kamar Satu"
    assert listed["kamar-1"]["low_kwh"] == 5.5
    assert listed["kamar-1"]["times"] == ["06:00", "18:00"]  # no times given: kept
    assert listed["kamar-2"]["times"] == ["06:30", "19:00"]


def test_import_refuses_bad_rows_whole(config_file: Path, tmp_path: Path) -> None:
    """One bad row and nothing is stored; every bad row is named by its line."""
    csv_path = tmp_path / "kamar.csv"
    csv_path.write_text(
        "id,name,camera_url,low_kwh\n"
        "kamar-1,Kamar 1,sim:,4\n"
        "kamar 2,Kamar 2,sim:,4\n"
        "kamar-3,Kamar 3,sim:,banyak\n"
        "kamar-1,Lagi,sim:,4\n",
        encoding="utf-8",
    )
    code, _, err = run(config_file, "meter", "import", str(csv_path))
    assert code == 2
    lines = err.splitlines()
    assert lines[0] == "Berkas CSV ditolak, tidak ada yang disimpan:"
    assert lines[1:] == [
        "  3: kamar 2: id: hanya huruf, angka, - dan _ (1-40 karakter)",
        "  4: kamar-3: low_kwh: harus angka",
        "  5: id meter 'kamar-1' muncul dua kali",
    ]
    code, _, err = run(config_file, "meter", "import", str(csv_path), "--lang", "en")
    assert err.splitlines()[1:] == [
        "  3: kamar 2: id: letters, digits, - and _ only (1-40 characters)",
        "  4: kamar-3: low_kwh: must be a number",
        "  5: meter id 'kamar-1' appears twice",
    ]
    missing = tmp_path / "missing.csv"
    code, _, err = run(config_file, "meter", "import", str(missing))
    assert (code, err.splitlines()[1:]) == (2, [f"  {missing}: berkas tidak ditemukan"])
    store = opened(config_file)
    try:
        assert store.registered_meters() == []
    finally:
        store.close()


def test_config_block_wins(config_file: Path) -> None:
    """An id in both keeps the config's block; the list warns about it."""
    store = open_store(load_config(config_file))
    store.register_meter(Meter("rumah", "Rumah Lain", camera_url="http://x/capture"))
    store.close()
    config = load_config(config_file)
    store = open_store(config)
    store.close()
    assert [(m.id, m.name, m.camera_url) for m in config.meters] == [("rumah", "Rumah", "sim:")]
    code, _, err = run(config_file, "meter", "list")
    assert code == 0
    assert "Peringatan: rumah ada di berkas konfigurasi" in err
