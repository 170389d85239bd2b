"""``tokenmeter backup DIR`` and ``tokenmeter restore DIR [--force]``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tokenmeter.backup import LEFT_OUT, BackupRefused, create_backup, restore_backup
from tokenmeter.commands.common import (
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_option,
    lang_option,
    user_errors,
)
from tokenmeter.texts import Lang, format_number

_WORDS: dict[str, dict[Lang, str]] = {
    "backed_up": {
        "id": "Cadangan dibuat di {folder}: basis data (skema {schema}), {photos} foto,"
        " {files} berkas, {mb} MB.",
        "en": "Backup written to {folder}: database (schema {schema}), {photos} photos,"
        " {files} files, {mb} MB.",
    },
    "left_out": {
        "id": "Tidak disalin: brankas token yang belum diketik dan kuncinya. Setelah"
        " dipulihkan, isi token yang masih menunggu kedaluwarsa dan bisa dikirim lagi.",
        "en": "Not copied: the vault of tokens not yet typed, and its key. After a restore,"
        " top-ups still waiting expire and can be sent again.",
    },
    "restored": {
        "id": "Dipulihkan dari {folder}: basis data (skema {schema}), {photos} foto.",
        "en": "Restored from {folder}: database (schema {schema}), {photos} photos.",
    },
    "previous": {
        "id": "Basis data sebelumnya disimpan di {path}.",
        "en": "The previous database is kept at {path}.",
    },
    "restart": {
        "id": "Mulai (ulang) layanan: sudo systemctl restart tokenmeter",
        "en": "(Re)start the service: sudo systemctl restart tokenmeter",
    },
}

_REFUSALS: dict[str, dict[Lang, str]] = {
    "not_empty": {
        "id": "Folder {path} tidak kosong; pilih folder baru atau yang kosong.",
        "en": "Folder {path} is not empty; choose a new or empty folder.",
    },
    "no_database": {
        "id": "Basis data {path} tidak ada; belum ada yang bisa dicadangkan.",
        "en": "Database {path} does not exist; there is nothing to back up yet.",
    },
    "manifest": {
        "id": "Bukan cadangan tokenmeter yang utuh ({path}); tidak ada yang dipulihkan.",
        "en": "Not a complete tokenmeter backup ({path}); nothing was restored.",
    },
    "damaged": {
        "id": "Cadangan rusak: {path} tidak sama dengan manifest; tidak ada yang dipulihkan.",
        "en": "Damaged backup: {path} differs from the manifest; nothing was restored.",
    },
    "newer": {
        "id": "Cadangan {path} dibuat oleh tokenmeter yang lebih baru; perbarui dulu.",
        "en": "Backup {path} was made by a newer tokenmeter; update first.",
    },
    "running": {
        "id": "Layanan tampaknya sedang berjalan ({path}). Hentikan dulu (sudo systemctl stop"
        " tokenmeter) atau pakai --force.",
        "en": "The service seems to be running ({path}). Stop it first (sudo systemctl stop"
        " tokenmeter) or use --force.",
    },
}

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
folder_argument = click.argument(
    "folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False)
)


@contextmanager
def _refusals_told(folder: Path) -> Iterator[None]:
    """Turn a refused backup or restore, or a file or database error, into one line
    on stderr and exit code ``EXIT_USAGE``."""
    try:
        yield
    except BackupRefused as err:
        template = _REFUSALS.get(err.reason, _REFUSALS["manifest"])[chosen_lang()]
        click.echo(template.format(path=err.detail), err=True)
        raise SystemExit(EXIT_USAGE) from err
    except (OSError, sqlite3.Error) as err:
        click.echo(f"{folder}: {getattr(err, 'strerror', None) or err}", err=True)
        raise SystemExit(EXIT_USAGE) from err


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.command("backup", short_help="Back up the database and photos into a folder.")
@folder_argument
@json_option
@config_option
@lang_option
@user_errors
def backup(folder: Path, as_json: bool, config_path: Path | None) -> None:
    """Back up the database, photos and simulated meters into DIR (new or empty).

    Safe while the service runs. The token vault and its key are left out.
    """
    config = cli_config(config_path)
    with _refusals_told(folder):
        summary = create_backup(config, folder)
    if as_json:
        _echo_json(
            {
                "folder": str(folder),
                "files": summary.files,
                "bytes": summary.bytes,
                "photos": summary.photos,
                "schema_version": summary.schema_version,
                "left_out": list(LEFT_OUT),
            }
        )
        return
    lang = chosen_lang(config)
    click.echo(
        _WORDS["backed_up"][lang].format(
            folder=folder,
            schema=summary.schema_version,
            photos=format_number(summary.photos, 0, lang),
            files=format_number(summary.files, 0, lang),
            mb=format_number(summary.bytes / 1e6, 1, lang),
        )
    )
    click.echo(_WORDS["left_out"][lang])


@click.command("restore", short_help="Put a backup back (checked first).")
@folder_argument
@click.option(
    "--force", is_flag=True, help="Restore even though the service seems to use the database."
)
@json_option
@config_option
@lang_option
@user_errors
def restore(folder: Path, force: bool, as_json: bool, config_path: Path | None) -> None:
    """Put a backup made with "tokenmeter backup" back (checked against its manifest).

    The database as it was is kept beside it. Refused while the service runs,
    unless --force.
    """
    config = cli_config(config_path)
    with _refusals_told(folder):
        summary = restore_backup(config, folder, force=force)
    if as_json:
        _echo_json(
            {
                "folder": str(folder),
                "database": str(summary.database),
                "previous": str(summary.previous) if summary.previous else None,
                "photos": summary.photos,
                "schema_version": summary.schema_version,
            }
        )
        return
    lang = chosen_lang(config)
    click.echo(
        _WORDS["restored"][lang].format(
            folder=folder,
            schema=summary.schema_version,
            photos=format_number(summary.photos, 0, lang),
        )
    )
    if summary.previous is not None:
        click.echo(_WORDS["previous"][lang].format(path=summary.previous))
    click.echo(_WORDS["restart"][lang])


COMMANDS: list[click.Command] = [backup, restore]
