"""Tests for tokenmeter.commands.serve: how ``serve`` and ``demo`` fail for users."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tokenmeter.cli import main
from tokenmeter.devices import broker as broker_module


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    """An unknown key is named and the exit code is 2, no traceback."""
    config = tmp_path / "bad.toml"
    config.write_text("[service]\nhealth_prot = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "service.health_prot: unknown key" in result.output
    assert "Traceback" not in result.output


def test_no_mosquitto_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mqtt.url empty and no mosquitto on the machine: one line with the fix, exit 2."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    config = tmp_path / "tokenmeter.toml"
    config.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n[service]\nhealth_port = 0\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "mosquitto is not installed" in result.output
    assert "apt-get install mosquitto" in result.output
    assert "Traceback" not in result.output


def test_demo_without_mosquitto_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The demo needs the local broker too and says so the same way."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    result = CliRunner().invoke(main, ["demo", "--once", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "mosquitto is not installed" in result.output
