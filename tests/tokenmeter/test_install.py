"""``install_service`` in a throwaway root: files, modes, secrets, and a real broker."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from paho.mqtt.enums import CallbackAPIVersion

from tests.mosquitto_conf import running_mosquitto
from tokenmeter.cli import main
from tokenmeter.config import load_config
from tokenmeter.devices.broker import find_mosquitto
from tokenmeter.install import (
    check_mosquitto_hash,
    install_service,
    mosquitto_hash,
)

EXE = Path("/opt/tokenmeter/.venv/bin/tokenmeter")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def value(path: Path, key: str) -> str:
    for line in path.read_text().splitlines():
        name, _, rest = line.partition("=")
        if name.strip() == key:
            return rest.strip().strip('"')
    raise AssertionError(f"{key} not in {path}")


def passwd_entries(root: Path) -> dict[str, str]:
    text = (root / "etc/mosquitto/tokenmeter.passwd").read_text()
    return dict(line.split(":", 1) for line in text.splitlines())


def test_files_and_modes(tmp_path: Path) -> None:
    """Every file and folder is there with its mode; nothing is run outside /."""
    report = install_service(tmp_path, executable=EXE, as_root=True)
    expected = {
        "etc/systemd/system/tokenmeter.service": 0o644,
        "etc/tokenmeter": 0o750,
        "etc/tokenmeter/config.toml": 0o640,
        "etc/tokenmeter/env": 0o600,
        "etc/tokenmeter/boards.env": 0o600,
        "var/lib/tokenmeter": 0o750,
        "var/lib/tokenmeter/photos": 0o750,
        "etc/mosquitto/conf.d/tokenmeter.conf": 0o644,
        "etc/mosquitto/tokenmeter.passwd": 0o640,
    }
    assert {name: mode(tmp_path / name) for name in expected} == expected
    assert report.ran == []
    assert any(command.startswith("id -u tokenmeter") for command in report.to_run)
    assert not list(tmp_path.rglob("*.part"))
    unit = (tmp_path / "etc/systemd/system/tokenmeter.service").read_text()
    assert f"ExecStart={EXE} serve --config /etc/tokenmeter/config.toml" in unit
    assert "User=tokenmeter" in unit and "EnvironmentFile=/etc/tokenmeter/env" in unit
    conf = (tmp_path / "etc/mosquitto/conf.d/tokenmeter.conf").read_text()
    assert "allow_anonymous false" in conf and "listener 1883" in conf


def test_config_loads_and_passwords_match(tmp_path: Path) -> None:
    """The written config is valid; each password in the env files has its hash."""
    install_service(tmp_path, executable=EXE)
    config = load_config(tmp_path / "etc/tokenmeter/config.toml", env={})
    assert config.store.sqlite_path == Path("/var/lib/tokenmeter/tokenmeter.db")
    assert (config.mqtt.url, config.mqtt.username) == ("mqtt://127.0.0.1:1883", "tokenmeter")
    entries = passwd_entries(tmp_path)
    service = value(tmp_path / "etc/tokenmeter/env", "TOKENMETER_MQTT_PASSWORD")
    board = value(tmp_path / "etc/tokenmeter/boards.env", "MQTT_PASSWORD")
    assert len(service) >= 20 and service != board
    assert check_mosquitto_hash(service, entries["tokenmeter"])
    assert check_mosquitto_hash(board, entries["meter"])
    assert not check_mosquitto_hash("wrong", entries["meter"])


def test_second_run_keeps_secrets(tmp_path: Path) -> None:
    """A second run keeps the config, the passwords and their hashes; the unit is new."""
    install_service(tmp_path, executable=EXE)
    secrets_before = {
        name: (tmp_path / name).read_bytes()
        for name in (
            "etc/tokenmeter/env",
            "etc/tokenmeter/boards.env",
            "etc/tokenmeter/config.toml",
            "etc/mosquitto/tokenmeter.passwd",
        )
    }
    report = install_service(tmp_path, executable=Path("/usr/bin/tokenmeter"))
    assert {name: (tmp_path / name).read_bytes() for name in secrets_before} == secrets_before
    assert len(report.kept) == 4
    assert (
        "ExecStart=/usr/bin/tokenmeter"
        in (tmp_path / "etc/systemd/system/tokenmeter.service").read_text()
    )


def test_lost_hash_is_made_again_from_the_kept_password(tmp_path: Path) -> None:
    """A password file without the board's line gets it back for the kept password."""
    install_service(tmp_path, executable=EXE)
    passwd = tmp_path / "etc/mosquitto/tokenmeter.passwd"
    entries = passwd_entries(tmp_path)
    passwd.write_text(f"tokenmeter:{entries['tokenmeter']}\nother:x\n")
    install_service(tmp_path, executable=EXE)
    board = value(tmp_path / "etc/tokenmeter/boards.env", "MQTT_PASSWORD")
    again = passwd_entries(tmp_path)
    assert check_mosquitto_hash(board, again["meter"])
    assert again["other"] == "x" and again["tokenmeter"] == entries["tokenmeter"]


def test_cli_prints_no_secret(tmp_path: Path) -> None:
    """The command names the files and the root commands, never a password."""
    result = CliRunner().invoke(
        main, ["install-service", "--root", str(tmp_path)], catch_exceptions=False
    )
    assert result.exit_code == 0
    assert "Ditulis:" in result.stdout and "Jalankan sebagai root di mesin ini:" in result.stdout
    service = value(tmp_path / "etc/tokenmeter/env", "TOKENMETER_MQTT_PASSWORD")
    board = value(tmp_path / "etc/tokenmeter/boards.env", "MQTT_PASSWORD")
    assert service not in result.output and board not in result.output


def _connect(port: int, username: str | None, password: str | None) -> int:
    """The broker's CONNACK reason code (0 = accepted)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if username is not None:
        client.username_pw_set(username, password)
    codes: list[int] = []
    client.on_connect = lambda _c, _u, _f, code, _p: codes.append(code.value)
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 5
    while not codes and time.monotonic() < deadline:
        client.loop(0.1)
    client.disconnect()
    return codes[0] if codes else -1


@pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
def test_real_mosquitto_takes_the_written_password_file(tmp_path: Path) -> None:
    """mosquitto accepts the written users' passwords and refuses anonymous and wrong ones."""
    install_service(tmp_path, executable=EXE)
    conf = {
        "allow_anonymous": "false",
        "password_file": str(tmp_path / "etc/mosquitto/tokenmeter.passwd"),
    }
    with running_mosquitto(conf, tmp_path / "test.conf") as port:
        board = value(tmp_path / "etc/tokenmeter/boards.env", "MQTT_PASSWORD")
        service = value(tmp_path / "etc/tokenmeter/env", "TOKENMETER_MQTT_PASSWORD")
        assert _connect(port, "meter", board) == 0
        assert _connect(port, "tokenmeter", service) == 0
        assert _connect(port, "meter", "wrong") != 0
        assert _connect(port, None, None) != 0


def test_hash_format() -> None:
    """The hash reads as mosquitto_passwd's $7$ (PBKDF2-SHA512, 101 rounds, 12-byte salt)."""
    hashed = mosquitto_hash("rahasia", salt=b"\x00" * 12)
    assert hashed.startswith("$7$101$AAAAAAAAAAAAAAAA$")
    assert check_mosquitto_hash("rahasia", hashed)
