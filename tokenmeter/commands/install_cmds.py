"""``tokenmeter install-service [--root DIR]``: unit, folders, secrets, broker config."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click

from tokenmeter.commands.common import EXIT_USAGE, chosen_lang, lang_option
from tokenmeter.install import CONFIG_DIR, InstallReport, install_service
from tokenmeter.texts import Lang

_WORDS: dict[str, dict[Lang, str]] = {
    "written": {"id": "Ditulis:", "en": "Written:"},
    "kept": {
        "id": "Dibiarkan (sudah ada; rahasia di dalamnya tetap):",
        "en": "Kept (already there; the secrets in them stay):",
    },
    "ran": {"id": "Dijalankan:", "en": "Ran:"},
    "to_run": {
        "id": "Jalankan sebagai root di mesin ini:",
        "en": "Run as root on the box:",
    },
    "secrets": {
        "id": "Kata sandi broker ada di {env} (layanan) dan {boards} (papan ESP32; salin ke"
        " config_local.py); keduanya hanya bisa dibaca root. Token Telegram: isi di {env}.",
        "en": "The broker passwords are in {env} (the service) and {boards} (the ESP32 boards;"
        " copy into config_local.py); both readable by root only. Telegram token: set it in"
        " {env}.",
    },
    "failed": {"id": "Gagal: {detail}", "en": "Failed: {detail}"},
}


def _lines(title: str, items: list[str]) -> list[str]:
    return [title, *(f"  {item}" for item in items)] if items else []


def _on_disk(root: Path, paths: list[Path]) -> list[str]:
    return [str(root / path.relative_to("/")) for path in paths]


def _report_text(report: InstallReport, root: Path, lang: Lang) -> list[str]:
    lines = _lines(_WORDS["written"][lang], _on_disk(root, report.written))
    lines += _lines(_WORDS["kept"][lang], _on_disk(root, report.kept))
    lines += _lines(_WORDS["ran"][lang], report.ran)
    lines += _lines(_WORDS["to_run"][lang], report.to_run)
    lines.append(
        _WORDS["secrets"][lang].format(env=CONFIG_DIR / "env", boards=CONFIG_DIR / "boards.env")
    )
    return lines


@click.command("install-service", short_help="Write the systemd unit, folders and broker config.")
@click.option(
    "--root",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("/"),
    show_default=True,
    help="Where the box's / is; a folder to try it out. Users are created only for / as root.",
)
@click.option(
    "--executable",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The tokenmeter program the unit starts. Default: this installation's.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@lang_option
def install_service_command(root: Path, executable: Path | None, as_json: bool) -> None:
    """Write the systemd unit, folders, secrets files and the LAN broker's config.

    Secrets files are kept when present and never printed.
    """
    lang = chosen_lang()
    try:
        report = install_service(root, executable=executable)
    except (OSError, subprocess.SubprocessError) as err:
        click.echo(_WORDS["failed"][lang].format(detail=err), err=True)
        raise SystemExit(EXIT_USAGE) from err
    if as_json:
        data = {
            "root": str(root),
            "written": [str(p) for p in report.written],
            "kept": [str(p) for p in report.kept],
            "ran": report.ran,
            "to_run": report.to_run,
        }
        click.echo(json.dumps(data, indent=2))
        return
    for line in _report_text(report, root, lang):
        click.echo(line)


COMMANDS: list[click.Command] = [install_service_command]
