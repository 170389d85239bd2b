"""The boards' example settings (``config_local.example.py``) against the LAN broker
that ``tokenmeter install-service`` writes: the same port and board user, a password
placeholder to replace, the docs saying the same, and a real mosquitto running the
written configuration that lets the firmware's link in with the password from
``boards.env`` and refuses it with the placeholder."""

from __future__ import annotations

import json
import runpy
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.firmware.conftest import DEVICE_DIRS, Firmware
from tests.mosquitto_conf import running_mosquitto
from tokenmeter.install import BOARD_USER, MOSQUITTO_CONF, PASSWORD_FILE, install_service

REPO = Path(__file__).resolve().parents[2]
EXE = Path("/opt/tokenmeter/.venv/bin/tokenmeter")


def example(device: str) -> dict[str, Any]:
    return runpy.run_path(str(DEVICE_DIRS[device][0] / "config_local.example.py"))


def directives(text: str) -> dict[str, str]:
    """``name value`` lines of a mosquitto configuration."""
    found = {}
    for line in text.splitlines():
        name, _, rest = line.strip().partition(" ")
        if name and not name.startswith("#"):
            found[name] = rest.strip()
    return found


def assignments(text: str) -> dict[str, str]:
    """``NAME = value`` lines (boards.env), values without quotes."""
    found = {}
    for line in text.splitlines():
        name, sep, rest = line.partition("=")
        if sep and not name.startswith("#"):
            found[name.strip()] = rest.strip().strip('"')
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A throwaway root ``install_service`` has written into."""
    install_service(tmp_path / "root", executable=EXE)
    return tmp_path / "root"


def on_disk(root: Path, path: Path) -> Path:
    return root / path.relative_to("/")


@pytest.mark.parametrize("device", sorted(DEVICE_DIRS))
def test_example_logs_in_as_the_written_board_user(root: Path, device: str) -> None:
    """Port and user are the written broker's; the password is a placeholder, not blank."""
    conf = directives(on_disk(root, MOSQUITTO_CONF).read_text())
    boards = assignments((root / "etc/tokenmeter/boards.env").read_text())
    users = [line.split(":", 1)[0] for line in on_disk(root, PASSWORD_FILE).read_text().split()]
    settings = example(device)
    assert conf["allow_anonymous"] == "false" and conf["password_file"] == str(PASSWORD_FILE)
    assert settings["MQTT_PORT"] == int(conf["listener"]) == int(boards["MQTT_PORT"])
    assert settings["MQTT_USER"] == boards["MQTT_USER"] == BOARD_USER and BOARD_USER in users
    assert settings["MQTT_PASSWORD"] not in ("", boards["MQTT_PASSWORD"])


def test_docs_give_the_examples_broker_login() -> None:
    """README and docs/hardware.md tell the boards the examples' port and user."""
    settings = example("esp32")
    wanted = [f"{key} = {json.dumps(settings[key])}" for key in ("MQTT_PORT", "MQTT_USER")]
    for doc in ("README.md", "docs/hardware.md"):
        text = (REPO / doc).read_text(encoding="utf-8")
        assert [line for line in wanted if line not in text] == [], doc


@pytest.fixture
def lan_broker(root: Path, tmp_path: Path) -> Iterator[int]:
    """mosquitto running the written configuration (on a free local port instead of
    1883, the password file under ``root``); its port."""
    conf = directives(on_disk(root, MOSQUITTO_CONF).read_text())
    conf["password_file"] = str(on_disk(root, PASSWORD_FILE))
    with running_mosquitto(conf, tmp_path / "lan.conf") as port:
        yield port


def test_written_broker_lets_the_board_in_with_the_boards_env_password(
    esp32_on_paho: Firmware, root: Path, lan_broker: int, tmp_path: Path
) -> None:
    """The keypad firmware built from the example is refused with the placeholder
    password and connects (subscribes, publishes its status) with boards.env's."""
    main = esp32_on_paho.load("main")
    password = assignments((root / "etc/tokenmeter/boards.env").read_text())["MQTT_PASSWORD"]
    cfg = esp32_on_paho.example_config(
        MQTT_HOST="127.0.0.1", MQTT_PORT=lan_broker, MQTT_PREFIX=f"fw-{uuid.uuid4().hex[:8]}"
    )
    links = []
    for attempt, secret in enumerate((cfg.MQTT_PASSWORD, password)):
        cfg.MQTT_PASSWORD = secret
        flash = tmp_path / f"flash-{attempt}"
        flash.mkdir()
        app = main.build(
            cfg,
            journal_path=str(flash / "keypad_ids.json"),
            schedule_path=str(flash / "schedule.json"),
        )
        links.append(app.link)
        app.link.ensure()
    try:
        refused, accepted = links
        assert not refused.connected and refused.failures == 1
        assert accepted.connected and accepted.connects == 1
    finally:
        for link in links:
            link.close()
