"""Tests for tokenmeter.cli: the top-level command, its version and every help text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tokenmeter.cli import main
from tokenmeter.devices import broker as broker_module


def run(*args: str, width: int = 80) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), terminal_width=width, catch_exceptions=False)


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and subcommand, as the words typed after ``tokenmeter``."""
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))


def test_version() -> None:
    """`tokenmeter --version` prints the installed version and exits 0."""
    result = run("--version")
    assert (result.exit_code, result.output) == (0, f"tokenmeter {version('tokenmeter')}\n")


@pytest.mark.parametrize("path", [(), *command_paths(main)], ids=" ".join)
def test_help_is_whole_and_plain(path: tuple[str, ...]) -> None:
    """Every --help at 80 columns: no summary cut off with "...", no RST double backticks."""
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "``" not in result.output
    text = [line for line in result.output.splitlines() if not line.startswith("Usage:")]
    assert not [line for line in text if line.endswith("...")]


def test_readme_lists_every_command() -> None:
    """README's command table has a row for every command a user can run, and no row
    for one that does not exist."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = {
        row.strip()
        for row in re.findall(r"^\| `tokenmeter ([a-z -]+?)(?: [A-Z\[`-]|`)", readme, re.M)
    }
    groups = {path for path in command_paths(main) if isinstance(_command(path), click.Group)}
    commands = {" ".join(path) for path in command_paths(main) if path not in groups}
    assert rows == commands


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def test_schedule_help_lists_whole_sentences() -> None:
    """`tokenmeter schedule --help` does not stop a summary at "e.g."."""
    lines = run("schedule", "--help").output.splitlines()
    assert not [line for line in lines if line.rstrip().endswith(("e.g.", "e.g"))]


@pytest.mark.parametrize("level", ["debug", "DEBUG", "Warning"])
def test_log_level_in_any_case_everywhere(tmp_path: Path, level: str) -> None:
    """The log level is accepted in any case: the option and [service] log_level."""
    config = tmp_path / "config.toml"
    config.write_text(f'[service]\nlog_level = "{level}"\n', encoding="utf-8")
    result = run("--log-level", level, "config", "check", "--config", str(config))
    assert (result.exit_code, result.stdout) == (0, "OK\n"), result.output
    result = run("serve", "--log-level", level, "--help")
    assert result.exit_code == 0


@pytest.mark.parametrize(
    "args", [("--log-level", "debug", "serve"), ("serve", "--log-level", "Debug")]
)
def test_serve_takes_the_log_level_before_or_after_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: tuple[str, ...]
) -> None:
    """`tokenmeter --log-level debug serve` logs at DEBUG, like `serve --log-level Debug`."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)  # stops after start-up
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n[service]\nhealth_port = 0\n',
        encoding="utf-8",
    )
    result = run(*args, "--config", str(config))
    assert result.exit_code == 2
    assert " DEBUG " in result.stderr
