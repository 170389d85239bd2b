"""Tests for tokenmeter setup-camera and tokenmeter correct through the click CLI,
against the simulated meter (its display drawn by the renderer, read by the real
reader), a real mosquitto and SQLite."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner, Result

from tokenmeter.cli import main
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import ReadingStatus
from tokenmeter.services.profiles import CORRECTION_SOURCE
from tokenmeter.store.sqlite import SqliteStore


def _config(tmp_path: Path, broker: LocalBroker) -> Path:
    path = tmp_path / "tokenmeter.toml"
    path.write_text(
        f"""
[store]
sqlite_path = "{tmp_path / "tm.db"}"
photo_dir = "{tmp_path / "photos"}"

[mqtt]
url = "{broker.url}"
prefix = "prof{tmp_path.name[-6:]}"

[checks]
camera_timeout_s = 2.0
camera_retries = 0

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "sim:"
schedule = []
""",
        encoding="utf-8",
    )
    return path


def _run(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--config", str(config)], catch_exceptions=False)


def _profile_refs(tmp_path: Path) -> list[str]:
    store = SqliteStore(tmp_path / "tm.db")
    try:
        profile = store.get_profile("rumah")
        return [r.source for r in profile.references] if profile else []
    finally:
        store.close()


def _profile_flash(tmp_path: Path) -> bool | None:
    store = SqliteStore(tmp_path / "tm.db")
    try:
        profile = store.get_profile("rumah")
        return profile.flash if profile else None
    finally:
        store.close()


def test_setup_camera_shows_then_enrols_the_confirmed_reading(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Without --confirm it writes the overlay and says how to confirm; with --confirm
    the reading becomes the first reference, stored with the meter."""
    config = _config(tmp_path, broker)
    shown = _run(config, "setup-camera")
    assert shown.exit_code == 0, shown.output
    overlay = Path(shown.output.split("Foto dengan kotak layar: ")[1].splitlines()[0])
    assert overlay.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Terbaca: 120,00 kWh." in shown.output and "--confirm" in shown.output
    assert _profile_refs(tmp_path) == []
    confirmed = _run(config, "setup-camera", "--confirm", "--lang", "en")
    assert confirmed.exit_code == 0, confirmed.output
    assert "First reference stored: 120.00 (1 references)." in confirmed.output
    assert _profile_refs(tmp_path) == ["enrol"]


def test_setup_camera_no_flash_is_kept_in_the_profile(tmp_path: Path, broker: LocalBroker) -> None:
    """``--no-flash --confirm`` enrols and stores that the meter is photographed without
    the flash; a later setup without the option keeps it."""
    config = _config(tmp_path, broker)
    assert _run(config, "setup-camera", "--no-flash", "--confirm").exit_code == 0
    assert _profile_flash(tmp_path) is False
    assert _run(config, "setup-camera", "--confirm").exit_code == 0
    assert _profile_flash(tmp_path) is False
    assert _run(config, "setup-camera", "--flash", "--confirm").exit_code == 0
    assert _profile_flash(tmp_path) is True


def test_setup_camera_refusals(tmp_path: Path, broker: LocalBroker) -> None:
    """A value the photo does not show, a box outside the photo and a malformed box are
    refused with exit 2 and a sentence; nothing is stored."""
    config = _config(tmp_path, broker)
    wrong = _run(config, "setup-camera", "--value", "121,50")
    assert wrong.exit_code == 2
    assert "Nilai tidak cocok: pembaca melihat 120.00 di foto, bukan 121.50." in wrong.output
    outside = _run(config, "setup-camera", "--roi", "0,0,5000,0,5000,60,0,60", "--confirm")
    assert outside.exit_code == 2 and "Kotak di luar foto" in outside.output
    malformed = _run(config, "setup-camera", "--roi", "1,2,3")
    assert malformed.exit_code == 2 and "Kotak tidak sah" in malformed.output
    assert "Traceback" not in wrong.output + outside.output + malformed.output
    assert _profile_refs(tmp_path) == []


def test_correct_fixes_the_last_reading_and_adds_its_photo(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Nothing to correct before a check; after one, the owner's value (decimal comma)
    replaces the last reading, marked as a correction, and its photo becomes a
    reference; a value that is no number is refused."""
    config = _config(tmp_path, broker)
    early = _run(config, "correct", "120,00")
    assert early.exit_code == 2 and "Belum ada pembacaan" in early.output
    assert _run(config, "check").exit_code == 0
    corrected = _run(config, "correct", "120,00")
    assert corrected.exit_code == 0, corrected.output
    assert "Pembacaan terakhir dikoreksi: 120,00 → 120,00 kWh." in corrected.output
    assert "menjadi referensi (1 referensi)" in corrected.output
    store = SqliteStore(tmp_path / "tm.db")
    latest = store.latest_reading("rumah")
    store.close()
    assert latest is not None and latest.source == CORRECTION_SOURCE
    assert latest.status is ReadingStatus.OK and latest.kwh == 120.0
    assert _profile_refs(tmp_path) == ["correction"]
    bad = _run(config, "correct", "banyak")
    assert bad.exit_code == 2 and "Nilai tidak sah" in bad.output


def test_export_references_writes_the_corrected_photo(tmp_path: Path, broker: LocalBroker) -> None:
    """Nothing to export before a reference exists (no folder made); after a correction
    the reference it made and the corrected reading's photo are written with the
    owner's value; a second run adds nothing; an unknown meter is refused in one line."""
    config = _config(tmp_path, broker)
    out = tmp_path / "data"
    empty = _run(config, "export-references", str(out))
    assert empty.exit_code == 3 and "Belum ada referensi atau koreksi" in empty.output
    assert not out.exists()
    assert _run(config, "check").exit_code == 0
    assert _run(config, "correct", "120,00").exit_code == 0
    done = _run(config, "export-references", str(out))
    assert done.exit_code == 0, done.output
    assert "2 potongan layar dari 1 meteran ditulis" in done.output
    assert "(0 sudah ada)" in done.output
    with (out / "labels.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["value"], r["device"], r["source"]) for r in rows] == [
        ("120.00", "rumah", CORRECTION_SOURCE),
        ("120.00", "rumah", "correction-photo"),
    ]
    assert all((out / r["file"]).stat().st_size > 0 for r in rows)
    again = _run(config, "export-references", str(out), "--lang", "en")
    assert again.exit_code == 0 and "0 display crops of 1 meters" in again.output
    assert "(2 already there)" in again.output
    unknown = _run(config, "export-references", str(out), "--meter", "nope")
    assert unknown.exit_code == 2 and "Traceback" not in unknown.output
