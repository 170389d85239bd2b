"""Backup and restore: a round trip loses nothing; damaged or foreign backups are refused."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.tokenmeter.store.contract import make_profile, make_reading, make_topup
from tokenmeter.backup import (
    BackupRefused,
    create_backup,
    read_manifest,
    restore_backup,
    service_running,
)
from tokenmeter.config import Config, StoreConfig
from tokenmeter.domain import Meter, Schedule, TopUpStatus
from tokenmeter.store.sqlite import SqliteStore

NOW = datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC)


def box(root: Path) -> Config:
    """A config whose data lives under ``root`` (health endpoint off)."""
    config = Config(
        store=StoreConfig(sqlite_path=root / "data" / "tokenmeter.db", photo_dir=root / "photos")
    )
    config.service.health_port = 0
    return config


def fill(config: Config) -> dict[str, object]:
    """Readings, top-ups, schedules, a profile, a stored meter, photos and a sim state."""
    store = SqliteStore(config.store.sqlite_path)
    try:
        store.put_meter(Meter("rumah", "Rumah"))
        store.register_meter(Meter("kamar-7", "Kamar 7", camera_url="sim:"))
        store.set_schedule("rumah", Schedule(("06:00", "18:00")))
        store.set_schedule("kamar-7", Schedule(("07:30",), enabled=False))
        for minute in range(3):
            store.add_reading(make_reading("rumah", minute, kwh=50.0 - minute))
        topup = make_topup("rumah", "t1")
        assert store.create_topup(topup)
        confirmed = topup.moved(TopUpStatus.CONFIRMED, "credit seen")
        assert store.transition_topup("rumah", "t1", frozenset({TopUpStatus.PENDING}), confirmed)
        store.put_profile("rumah", make_profile("123.45", "7.00"))
    finally:
        store.close()
    for meter, name in (("rumah", "r00000.jpg"), ("rumah", "r00001.jpg"), ("kamar-7", "a.jpg")):
        (config.store.photo_dir / meter).mkdir(parents=True, exist_ok=True)
        (config.store.photo_dir / meter / name).write_bytes(bytes(range(256)) + name.encode())
    sim = config.store.sqlite_path.parent / "sim"
    sim.mkdir()
    (sim / "kamar-7.json").write_text('{"kwh": 88.5}', encoding="utf-8")
    (config.store.sqlite_path.parent / "topup-tokens.vault").write_bytes(b"secret")
    (config.store.sqlite_path.parent / "topup-tokens.key").write_bytes(b"key")
    return snapshot_of(config)


def backed_up(tmp_path: Path) -> Config:
    """A filled box under ``tmp_path / "box"``, backed up into ``tmp_path / "backup"``."""
    config = box(tmp_path / "box")
    fill(config)
    create_backup(config, tmp_path / "backup")
    return config


def snapshot_of(config: Config) -> dict[str, object]:
    store = SqliteStore(config.store.sqlite_path)
    try:
        return {
            "readings": store.last_readings("rumah", 10),
            "topups": store.list_topups("rumah"),
            "schedules": [store.get_schedule("rumah"), store.get_schedule("kamar-7")],
            "profile": store.get_profile("rumah"),
            "registered": store.registered_meters(),
        }
    finally:
        store.close()


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_round_trip_loses_nothing(tmp_path: Path) -> None:
    """Backup on one box, restore on a fresh one: every record, photo and sim state."""
    old = box(tmp_path / "old")
    before = fill(old)
    summary = create_backup(old, tmp_path / "backup", now=NOW)
    assert (summary.photos, summary.files) == (3, 5)
    new = box(tmp_path / "new")
    restored = restore_backup(new, tmp_path / "backup", now=NOW)
    assert restored.previous is None and restored.photos == 3
    assert snapshot_of(new) == before
    assert files_under(new.store.photo_dir) == files_under(old.store.photo_dir)
    assert (new.store.sqlite_path.parent / "sim" / "kamar-7.json").read_text() == '{"kwh": 88.5}'
    assert not (new.store.sqlite_path.parent / "topup-tokens.vault").exists()
    with sqlite3.connect(new.store.sqlite_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_vault_and_key_are_left_out(tmp_path: Path) -> None:
    """The backup holds neither the token vault nor its key, and says so."""
    backed_up(tmp_path)
    names = set(files_under(tmp_path / "backup"))
    assert not any("topup-tokens" in name for name in names)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["left_out"] == ["topup-tokens.vault", "topup-tokens.key"]
    assert b"secret" not in b"".join(files_under(tmp_path / "backup").values())


def test_backup_while_the_store_is_open(tmp_path: Path) -> None:
    """A copy taken while another connection holds the file has its committed writes."""
    config = box(tmp_path / "box")
    fill(config)
    live = SqliteStore(config.store.sqlite_path)
    try:
        live.add_reading(make_reading("rumah", 9, kwh=40.0))
        create_backup(config, tmp_path / "backup")
    finally:
        live.close()
    copy = SqliteStore(tmp_path / "backup" / "tokenmeter.db")
    try:
        latest = copy.latest_reading("rumah")
        assert latest is not None and latest.kwh == 40.0
    finally:
        copy.close()


def test_restore_keeps_the_previous_database(tmp_path: Path) -> None:
    """Restoring over a database keeps the old one beside it."""
    config = backed_up(tmp_path)
    store = SqliteStore(config.store.sqlite_path)
    store.add_reading(make_reading("rumah", 50, kwh=1.0))
    store.close()
    summary = restore_backup(config, tmp_path / "backup", now=NOW)
    assert summary.previous == config.store.sqlite_path.with_name(
        "tokenmeter.db.before-restore-20261201T030405Z"
    )
    kept = SqliteStore(summary.previous)
    try:
        assert len(kept.last_readings("rumah", 10)) == 4
    finally:
        kept.close()
    assert len(snapshot_of(config)["readings"]) == 3  # type: ignore[arg-type]


def test_refusals(tmp_path: Path) -> None:
    """A non-empty target, a missing database, a damaged file, a foreign folder."""
    config = box(tmp_path / "box")
    with pytest.raises(BackupRefused) as caught:
        create_backup(config, tmp_path / "backup")
    assert caught.value.reason == "no_database"
    fill(config)
    create_backup(config, tmp_path / "backup")
    with pytest.raises(BackupRefused) as caught:
        create_backup(config, tmp_path / "backup")
    assert caught.value.reason == "not_empty"
    photo = tmp_path / "backup" / "photos" / "rumah" / "r00000.jpg"
    photo.write_bytes(b"changed")
    with pytest.raises(BackupRefused) as caught:
        read_manifest(tmp_path / "backup")
    assert (caught.value.reason, caught.value.detail) == ("damaged", "photos/rumah/r00000.jpg")
    (tmp_path / "other").mkdir()
    with pytest.raises(BackupRefused) as caught:
        restore_backup(config, tmp_path / "other")
    assert caught.value.reason == "manifest"


def test_newer_schema_refused(tmp_path: Path) -> None:
    """A backup from a newer tokenmeter (schema) is not restored."""
    config = backed_up(tmp_path)
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BackupRefused) as caught:
        restore_backup(config, tmp_path / "backup")
    assert caught.value.reason == "newer"


def test_running_service_refused_unless_forced(tmp_path: Path) -> None:
    """An open database (a running service) stops a restore; --force goes on."""
    config = backed_up(tmp_path)
    assert service_running(config) == ""
    live = SqliteStore(config.store.sqlite_path)
    try:
        live.add_reading(make_reading("rumah", 60, kwh=2.0))
        assert service_running(config).endswith("tokenmeter.db-wal")
        with pytest.raises(BackupRefused) as caught:
            restore_backup(config, tmp_path / "backup")
        assert caught.value.reason == "running"
        restore_backup(config, tmp_path / "backup", force=True)
        assert len(live.last_readings("rumah", 10)) == 3  # the live connection sees it
    finally:
        live.close()
