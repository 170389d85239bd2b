"""The README's configuration reference and CLI reference stay true to the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest

from tests.scripts_loader import load_script
from tokenmeter.cli import main as cli_main
from tokenmeter.config import Config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "config_reference.py"
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    return load_script("config_reference")


def _command_paths(group: click.Group, prefix: str = "tokenmeter") -> list[str]:
    paths: list[str] = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
    return paths


def _leaf_count(annotation: object) -> int:
    """Settings under a field: its model's fields (also for list[Model]), else 1."""
    args = getattr(annotation, "__args__", ())
    model = annotation if hasattr(annotation, "model_fields") else (args[0] if args else None)
    fields = getattr(model, "model_fields", None)
    return sum(_leaf_count(f.annotation) for f in fields.values()) if fields else 1


def test_readme_block_equals_script_output(reference: ModuleType) -> None:
    """README.md holds exactly what scripts/config_reference.py prints now."""
    readme = README.read_text(encoding="utf-8")
    assert reference.readme_block(readme) == reference.config_reference(), (
        "README.md's configuration reference is stale: run "
        ".venv/bin/python scripts/config_reference.py --write README.md"
    )


def test_every_setting_has_a_row(reference: ModuleType) -> None:
    """One row per leaf setting, nested sections and [[meters]] items included."""
    keys = [key for key, _default, _description in reference.setting_rows()]
    assert len(keys) == len(set(keys))
    assert len(keys) == _leaf_count(Config)
    assert "store.backend" in keys
    assert "meters[].camera_url" in keys


def test_rows_show_defaults_and_descriptions(reference: ModuleType) -> None:
    """Defaults are shown as TOML values, a required key says so, secrets show empty."""
    rows = {key: (default, text) for key, default, text in reference.setting_rows()}
    assert rows["store.backend"][0] == '`"sqlite"`'
    assert rows["blynk.tls"][0] == "`true`"
    assert rows["telegram.token"][0] == '`""`'
    assert rows["meters[].id"][0] == "*(required)*"
    assert rows["service.health_port"][1].startswith("Port of /healthz")


def test_replace_block_round_trip(reference: ModuleType) -> None:
    """--write replaces only what is between the markers."""
    text = f"before\n{reference.START_MARKER}\nold\n{reference.END_MARKER}\nafter\n"
    updated = reference.replace_block(text, "new table\n")
    assert updated.startswith("before\n") and updated.endswith("after\n")
    assert reference.readme_block(updated) == "new table\n"


def test_script_prints_the_table() -> None:
    """Running the script prints the markdown table on stdout."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.startswith("| setting | default | description |")


def test_every_cli_command_is_in_readme() -> None:
    """Each command registered on `tokenmeter` (and each subcommand) is in README.md."""
    readme = README.read_text(encoding="utf-8")
    missing = [path for path in _command_paths(cli_main) if path not in readme]
    assert not missing, f"commands not documented in README.md: {missing}"
