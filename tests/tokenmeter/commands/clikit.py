"""The CLI tests' kit: a config file on SQLite, and ``tokenmeter`` run in process."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tokenmeter.cli import main


def sqlite_config(tmp_path: Path, meters: str) -> Path:
    """``tmp_path / "config.toml"``: the store in ``tmp_path / "tokenmeter.db"``, then
    ``meters`` (TOML, ``[[meters]]`` tables)."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'\n[store]\nsqlite_path = "{tmp_path / "tokenmeter.db"}"\n\n{meters.lstrip()}',
        encoding="utf-8",
    )
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    """``tokenmeter ARGS``, exceptions not caught: the exit code, stdout and stderr."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
