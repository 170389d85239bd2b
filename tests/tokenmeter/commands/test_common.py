"""Tests for tokenmeter.commands.common: which config file a command uses, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tokenmeter import config as config_module
from tokenmeter.cli import main
from tokenmeter.devices import broker as broker_module


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, no TOKENMETER_CONFIG and no system-wide file."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv("TOKENMETER_CONFIG", raising=False)
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", tmp_path / "etc" / "config.toml")
    return work


def meter_config(path: Path, meter_id: str, *, extra: str = "") -> Path:
    """A config file with one meter, ``07:00``, and its database next to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'{extra}[store]\nsqlite_path = "{path.parent / "tm.db"}"\n\n'
        f'[[meters]]\nid = "{meter_id}"\nschedule = ["07:00"]\n',
        encoding="utf-8",
    )
    return path


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_config_toml_in_the_current_directory_is_used(workdir: Path) -> None:
    """Without --config or TOKENMETER_CONFIG, ./config.toml is the config."""
    meter_config(workdir / "config.toml", "gudang")
    assert run("schedule", "show")[:2] == (0, "gudang: 07:00\n")


def test_system_config_is_used_when_there_is_no_local_one(workdir: Path, tmp_path: Path) -> None:
    """Without ./config.toml, /etc/tokenmeter/config.toml is the config."""
    meter_config(tmp_path / "etc" / "config.toml", "kantor")
    assert run("schedule", "show")[:2] == (0, "kantor: 07:00\n")


def test_the_environment_wins_over_the_files(workdir: Path, tmp_path: Path) -> None:
    """TOKENMETER_CONFIG wins over ./config.toml; --config wins over both."""
    meter_config(workdir / "config.toml", "gudang")
    from_env = meter_config(tmp_path / "env" / "config.toml", "toko")
    option = meter_config(tmp_path / "opt" / "config.toml", "kios")
    env = {"TOKENMETER_CONFIG": str(from_env)}
    assert run("schedule", "show", env=env)[1] == "toko: 07:00\n"
    assert run("schedule", "show", "--config", str(option), env=env)[1] == "kios: 07:00\n"


def test_config_check_checks_the_local_file(workdir: Path) -> None:
    """`config check` checks ./config.toml too, and says which file it checked."""
    (workdir / "config.toml").write_text("[mqtt]\nprot = 1\n", encoding="utf-8")
    code, out, err = run("config", "check")
    assert code == 2
    assert "mqtt.prot: unknown key" in out
    assert f"konfigurasi: {workdir / 'config.toml'}" in err


def test_config_check_without_any_file_says_embedded_defaults(workdir: Path) -> None:
    """No file anywhere: the embedded defaults are checked, and that is said."""
    code, out, err = run("config", "check")
    assert (code, out) == (0, "OK\n")
    assert "konfigurasi: bawaan" in err


def test_serve_says_which_config_it_uses(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` names its config file in its first line (here it then stops: no broker)."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    meter_config(workdir / "config.toml", "gudang", extra="[service]\nhealth_port = 0\n\n")
    code, _, err = run("serve")
    assert code == 2
    assert err.splitlines()[0].startswith(f"konfigurasi: {workdir / 'config.toml'}")
