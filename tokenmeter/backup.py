"""Backup and restore of one box: the database, the check photos, the simulated meters.

A backup folder holds ``tokenmeter.db`` (a consistent copy made with SQLite's
backup API while the service runs), ``photos/`` (the tree of ``[store] photo_dir``),
``sim/`` (simulated meters' balances, when any) and ``manifest.json``, written last:
every file with its size and SHA-256, the schema version and what was left out.

Left out on purpose: the token vault (``topup-tokens.vault``) and its key. They hold
the digits of top-ups not yet typed; a backup must never carry them. After a
restore such a top-up expires and the token can be sent again (it was never typed).

Profiles (display box, reference crops) live in the database and travel with it.
With ``backend = "firebase"`` the history lives in Firebase; the backup holds the
local file (the offline queue) and the photos.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenmeter.config import Config
from tokenmeter.errors import TokenmeterError
from tokenmeter.store.records import ts_text
from tokenmeter.store.sqlite_schema import SCHEMA_VERSION, current_version

FORMAT = "tokenmeter-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "tokenmeter.db"
LEFT_OUT = ("topup-tokens.vault", "topup-tokens.key")
_CHUNK = 1 << 20


class BackupRefused(TokenmeterError):
    """A backup or restore that was refused before anything was changed.

    ``reason``: ``not_empty`` (the backup folder has files), ``no_database``,
    ``manifest`` (missing, unreadable or not a tokenmeter backup), ``damaged``
    (``detail``: the file whose size or checksum differs), ``newer`` (a schema newer
    than this tokenmeter), ``running`` (``detail``: why the service seems to run).
    """

    code = "backup_refused"

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason, path=detail)
        self.reason = reason


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    files: int
    bytes: int
    photos: int
    schema_version: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_database(source: Path, target: Path) -> int:
    """Copy ``source`` into ``target`` with the backup API (one consistent snapshot,
    also while another process writes); return the copy's schema version."""
    src = sqlite3.connect(str(source))  # read-write: its close may end the log, as usual
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
        return current_version(dst)
    finally:
        dst.close()
        src.close()


def _tree(folder: Path) -> list[Path]:
    """Regular files under ``folder``, relative, sorted; half-written ``.part`` skipped."""
    if not folder.is_dir():
        return []
    return sorted(
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and path.suffix != ".part"
    )


def _copy_tree(source: Path, target: Path, files: list[Path]) -> None:
    for relative in files:
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, destination)


def sim_dir(config: Config) -> Path:
    return config.store.sqlite_path.parent / "sim"


def create_backup(config: Config, folder: Path, *, now: datetime | None = None) -> BackupSummary:
    """Write a backup of ``config``'s data into ``folder`` (new or empty)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupRefused("not_empty", str(folder))
    database = config.store.sqlite_path
    if not database.is_file():
        raise BackupRefused("no_database", str(database))
    folder.mkdir(parents=True, exist_ok=True)
    schema = _copy_database(database, folder / DATABASE)
    photos = _tree(config.store.photo_dir)
    _copy_tree(config.store.photo_dir, folder / "photos", photos)
    sims = [p for p in _tree(sim_dir(config)) if p.suffix == ".json"]
    _copy_tree(sim_dir(config), folder / "sim", sims)
    names = [DATABASE]
    names += [str(Path("photos") / p) for p in photos]
    names += [str(Path("sim") / p) for p in sims]
    sizes = {name: (folder / name).stat().st_size for name in names}
    entries = [
        {"path": name, "size": sizes[name], "sha256": _sha256(folder / name)} for name in names
    ]
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": ts_text(now or datetime.now(UTC)),
        "backend": config.store.backend,
        "schema_version": schema,
        "files": entries,
        "left_out": list(LEFT_OUT),
    }
    part = folder / (MANIFEST + ".part")
    part.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    part.replace(folder / MANIFEST)  # last: a folder without it is no backup
    return BackupSummary(folder, len(entries), sum(sizes.values()), len(photos), schema)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, every file checked (size and SHA-256); BackupRefused else."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BackupRefused("manifest", str(folder / MANIFEST)) from err
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), list)
        or not isinstance(manifest.get("schema_version"), int)
    ):
        raise BackupRefused("manifest", str(folder / MANIFEST))
    if manifest.get("version") != FORMAT_VERSION or manifest["schema_version"] > SCHEMA_VERSION:
        raise BackupRefused("newer", str(folder))
    for entry in manifest["files"]:
        name = str(entry.get("path", "")) if isinstance(entry, dict) else ""
        path = folder / name
        if not name or Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupRefused("manifest", name or str(folder / MANIFEST))
        if (
            not path.is_file()
            or path.stat().st_size != entry.get("size")
            or _sha256(path) != entry.get("sha256")
        ):
            raise BackupRefused("damaged", name)
    if DATABASE not in {entry["path"] for entry in manifest["files"]}:
        raise BackupRefused("manifest", str(folder / MANIFEST))
    return manifest


def service_running(config: Config, *, timeout_s: float = 1.0) -> str:
    """Why the service seems to use the database now ("" when it does not seem to).

    ``/healthz`` answering says so; so does the database's write-ahead log, which
    exists while any process has the file open (or after one was killed).
    """
    port = config.service.health_port
    if port:
        url = f"http://{config.service.health_host}:{port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=timeout_s):
                return url
        except urllib.error.HTTPError:
            return url  # it answered: something serves there
        except (OSError, ValueError):
            pass
    wal = Path(f"{config.store.sqlite_path}-wal")
    return str(wal) if wal.exists() else ""


@dataclass(frozen=True)
class RestoreSummary:
    database: Path
    previous: Path | None  # the database as it was before, kept beside it
    photos: int
    schema_version: int


def restore_backup(
    config: Config, folder: Path, *, force: bool = False, now: datetime | None = None
) -> RestoreSummary:
    """Put a checked backup back: the database (the old one kept as
    ``<db>.before-restore-<time>``), photos and simulated meters.

    Refused while the service seems to run, unless ``force``.
    """
    manifest = read_manifest(folder)
    if not force:
        running = service_running(config)
        if running:
            raise BackupRefused("running", running)
    database = config.store.sqlite_path
    database.parent.mkdir(parents=True, exist_ok=True)
    previous: Path | None = None
    if database.is_file():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        previous = database.with_name(f"{database.name}.before-restore-{stamp}")
        _copy_database(database, previous)
    source = sqlite3.connect(f"{(folder / DATABASE).absolute().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(str(database))
    try:
        source.backup(target)  # one transaction: a reader sees the old or the new data
    finally:
        target.close()
        source.close()
    photos = 0
    for entry in manifest["files"]:
        name = Path(entry["path"])
        if name.parts[0] == "photos":
            destination = config.store.photo_dir.joinpath(*name.parts[1:])
            photos += 1
        elif name.parts[0] == "sim":
            destination = sim_dir(config).joinpath(*name.parts[1:])
        else:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / name, destination)
    return RestoreSummary(database, previous, photos, int(manifest["schema_version"]))
