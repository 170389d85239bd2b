"""Tests for tokenmeter.commands.common: which config file a command uses, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tokenmeter import config as config_module
from tokenmeter.cli import main
from tokenmeter.devices import broker as broker_module
from tokenmeter.devices.broker import LocalBroker


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
    assert "mqtt.prot: kunci tidak dikenal" in out
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


def test_relative_paths_follow_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broker: LocalBroker
) -> None:
    """Relative sqlite_path and photo_dir are inside the config file's folder, not the
    current directory."""
    folder = tmp_path / "site"
    folder.mkdir()
    config = folder / "tokenmeter.toml"
    config.write_text(
        f'[store]\nsqlite_path = "data/tm.db"\nphoto_dir = "photos"\n\n'
        f'[mqtt]\nurl = "{broker.url}"\nprefix = "rel{tmp_path.name[-6:]}"\n\n'
        '[[meters]]\nid = "rumah"\ncamera_url = "sim:"\nschedule = []\n',
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, _ = run("check", "--json", "--config", str(config))
    assert code in (0, 3), out
    assert (folder / "data" / "tm.db").is_file()
    assert Path(json.loads(out)["photo"]).parent.parent == folder / "photos"
    assert list(elsewhere.iterdir()) == []


def test_verbose_names_the_config_and_the_database(workdir: Path) -> None:
    """`tokenmeter --verbose <command>` says on stderr which config and database it uses."""
    config = workdir / "config.toml"
    config.write_text(
        '[store]\nsqlite_path = "db/tm.db"\n\n[[meters]]\nid = "rumah"\n', encoding="utf-8"
    )
    code, out, err = run("--verbose", "schedule", "show")
    assert (code, out) == (0, "rumah: 06:00, 18:00\n")
    assert err == f"konfigurasi: {config}; basis data: {workdir / 'db' / 'tm.db'}\n"
    code, _, err = run("-v", "history", "--config", str(config))
    assert code == 0 and f"basis data: {workdir / 'db' / 'tm.db'}" in err


def test_english_when_the_config_says_so(workdir: Path) -> None:
    """The line follows [telegram] language."""
    config = workdir / "config.toml"
    config.write_text('[telegram]\nlanguage = "en"\n', encoding="utf-8")
    _, _, err = run("--verbose", "schedule", "show")
    assert err == f"config: {config}; database: {workdir / 'data' / 'tokenmeter.db'}\n"


def test_errors_in_the_language_of_the_run(workdir: Path) -> None:
    """A refused command says "Kesalahan: …" in Indonesian by default, "Error: …" with
    --lang en, and follows [telegram] language when there is no --lang."""
    config = meter_config(workdir / "config.toml", "rumah")
    code, _, err = run("history", "--meter", "nope")
    assert (code, err) == (2, "Kesalahan: Meter nope tidak dikenal.\n")
    code, _, err = run("history", "--meter", "nope", "--lang", "en")
    assert (code, err) == (2, "Error: Meter nope is not known.\n")
    meter_config(config, "rumah", extra='[telegram]\nlanguage = "en"\n')
    assert run("history", "--meter", "nope")[2] == "Error: Meter nope is not known.\n"
    assert run("history", "--meter", "nope", "--lang", "id")[2].startswith("Kesalahan: ")


def test_configuration_errors_in_the_language_of_the_run(workdir: Path) -> None:
    """A bad config file is reported in Indonesian unless --lang en."""
    bad = workdir / "bad.toml"
    bad.write_text("[mqtt]\nprot = 1\n", encoding="utf-8")
    code, _, err = run("schedule", "show", "--config", str(bad))
    assert code == 2 and err.startswith("Kesalahan konfigurasi: ") and "mqtt.prot" in err
    code, _, err = run("schedule", "show", "--lang", "en", "--config", str(bad))
    assert code == 2 and err.startswith("Configuration error: ")


@pytest.mark.parametrize(
    "args",
    [
        ("config", "check"),
        ("schedule", "show"),
        ("schedule", "set", "06:00"),
        ("schedule", "remove", "--meter", "rumah"),
        ("history",),
        ("check",),
        ("topup", "0"),
        ("simulate", "--meter", "rumah"),
        ("serve",),
        ("demo",),
        ("read", "photo.jpg"),
    ],
    ids=" ".join,
)
def test_every_command_takes_lang(args: tuple[str, ...]) -> None:
    """Every command accepts --lang id|en (and refuses other languages)."""
    result = CliRunner().invoke(main, [*args, "--lang", "en", "--help"])
    assert result.exit_code == 0 and "--lang" in result.output
    refused = CliRunner().invoke(main, [*args, "--lang", "fr"])
    assert refused.exit_code == 2 and "--lang" in refused.output
    assert "harus salah satu dari id atau en" in refused.output
