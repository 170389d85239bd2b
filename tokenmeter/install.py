"""``tokenmeter install-service``: the files of a box that runs unattended.

Everything is written under ``root`` (``/`` on the box, a throwaway folder in the
tests), with the paths inside the files being those of the box itself:

| path | mode | what |
|---|---|---|
| ``/etc/systemd/system/tokenmeter.service`` | 0644 | the unit (written each time) |
| ``/etc/tokenmeter/`` | 0750 | configuration folder |
| ``/etc/tokenmeter/config.toml`` | 0640 | settings, local broker (kept if present) |
| ``/etc/tokenmeter/env`` | 0600 | secrets for the service (kept if present) |
| ``/etc/tokenmeter/boards.env`` | 0600 | the boards' broker user and password (kept if present) |
| ``/var/lib/tokenmeter/``, ``photos/`` | 0750 | database, photos, token vault |
| ``/etc/mosquitto/conf.d/tokenmeter.conf`` | 0644 | LAN listener, no anonymous clients |
| ``/etc/mosquitto/tokenmeter.passwd`` | 0640 | hashed passwords (kept if present) |

Files holding a secret are never replaced (a second run keeps the passwords the
boards already use) and no secret is printed. Creating the system user and handing
the folders to it happens only for ``root = /`` run as root; otherwise the commands
are returned for a person to run.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_USER = "tokenmeter"
BOARD_USER = "meter"
CONFIG_DIR = Path("/etc/tokenmeter")
DATA_DIR = Path("/var/lib/tokenmeter")
UNIT_PATH = Path("/etc/systemd/system/tokenmeter.service")
MOSQUITTO_CONF = Path("/etc/mosquitto/conf.d/tokenmeter.conf")
PASSWORD_FILE = Path("/etc/mosquitto/tokenmeter.passwd")
MQTT_PORT = 1883
PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes ($7$)


@dataclass
class InstallReport:
    written: list[Path] = field(default_factory=list)  # paths on the box
    kept: list[Path] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)  # commands run (root = / as root)
    to_run: list[str] = field(default_factory=list)  # commands for a person to run


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """A ``password_file`` entry's hash as ``mosquitto_passwd`` writes it (PBKDF2-SHA512)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def check_mosquitto_hash(password: str, hashed: str) -> bool:
    """True when ``hashed`` (``$7$...``) is the hash of ``password``."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return False
    return secrets.compare_digest(mosquitto_hash(password, salt=salt), hashed)


def unit_text(executable: Path, user: str = SERVICE_USER) -> str:
    return f"""# Written by 'tokenmeter install-service'; written again by the next run.
[Unit]
Description=tokenmeter - PLN prepaid meter watcher and top-up service
Wants=network-online.target
After=network-online.target mosquitto.service

[Service]
Type=simple
User={user}
Group={user}
WorkingDirectory={DATA_DIR}
# Secrets (TOKENMETER_TELEGRAM_TOKEN, TOKENMETER_MQTT_PASSWORD, ...): root-only file,
# read by systemd before it starts the service as {user}.
EnvironmentFile={CONFIG_DIR / "env"}
ExecStart={executable} serve --config {CONFIG_DIR / "config.toml"}
Restart=on-failure
RestartSec=5
# Exit 2 means a bad config or no broker: restarting will not help.
RestartPreventExitStatus=2
TimeoutStopSec=10
KillSignal=SIGTERM
UMask=0027
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full
ProtectHome=read-only
ReadWritePaths={DATA_DIR}

[Install]
WantedBy=multi-user.target
"""


def config_text(port: int = MQTT_PORT) -> str:
    return f"""# Written by 'tokenmeter install-service' (kept by later runs). Secrets are in
# {CONFIG_DIR / "env"}; settings: README "Every setting".
[store]
sqlite_path = "{DATA_DIR / "tokenmeter.db"}"
photo_dir = "{DATA_DIR / "photos"}"

[mqtt]
url = "mqtt://127.0.0.1:{port}"
username = "{SERVICE_USER}"   # password: TOKENMETER_MQTT_PASSWORD in {CONFIG_DIR / "env"}

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "sim:"   # http://<ESP32-CAM address>/capture; more rooms: tokenmeter meter add
"""


def env_text(mqtt_password: str) -> str:
    return f"""# Secrets for tokenmeter.service: readable by root only (mode 0600).
TOKENMETER_MQTT_PASSWORD={mqtt_password}
TOKENMETER_TELEGRAM_TOKEN=
TOKENMETER_BLYNK_TOKEN=
"""


def boards_text(board_password: str) -> str:
    return f"""# The boards' broker login: copy into firmware/*/config_local.py (mode 0600).
MQTT_USER = "{BOARD_USER}"
MQTT_PASSWORD = "{board_password}"
MQTT_PORT = {MQTT_PORT}
"""


def mosquitto_text(port: int = MQTT_PORT) -> str:
    return f"""# Written by 'tokenmeter install-service': the broker for the boards on the LAN.
# Every client logs in (users in {PASSWORD_FILE}); no anonymous access.
listener {port}
allow_anonymous false
password_file {PASSWORD_FILE}
"""


class _Writer:
    def __init__(self, root: Path, report: InstallReport) -> None:
        self.root = root
        self.report = report

    def on_disk(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def folder(self, path: Path, mode: int) -> None:
        target = self.on_disk(path)
        target.mkdir(parents=True, exist_ok=True)
        target.chmod(mode)

    def file(self, path: Path, text: str, mode: int, *, keep: bool = False) -> bool:
        """Write ``text`` with ``mode`` from the start (never readable by others, even
        for a moment); with ``keep`` an existing file stays. True when written."""
        target = self.on_disk(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if keep and target.exists():
            self.report.kept.append(path)
            return False
        part = target.with_name(target.name + ".part")
        part.unlink(missing_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        part.chmod(mode)  # the umask may have taken bits away
        part.replace(target)
        self.report.written.append(path)
        return True


def _stored(path: Path, key: str) -> str:
    """The value of ``KEY=value`` / ``KEY = "value"`` in an existing file, else a new
    random password."""
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition("=")
            if name.strip() == key and value.strip().strip('"'):
                return value.strip().strip('"')
    return secrets.token_urlsafe(18)


def default_executable() -> Path:
    return Path(sys.prefix) / "bin" / "tokenmeter"


def owner_commands(user: str = SERVICE_USER) -> list[str]:
    """What makes the files the service's (as root, on the box)."""
    q = shlex.quote
    return [
        f"id -u {q(user)} >/dev/null 2>&1 || useradd --system --home-dir {DATA_DIR}"
        f" --shell /usr/sbin/nologin {q(user)}",
        f"chown -R {q(user)}:{q(user)} {DATA_DIR}",
        f"chown root:{q(user)} {CONFIG_DIR} {CONFIG_DIR / 'config.toml'}",
        f"chown root:root {CONFIG_DIR / 'env'} {CONFIG_DIR / 'boards.env'}",
        f"chown root:mosquitto {PASSWORD_FILE}",
        "systemctl daemon-reload",
        "systemctl restart mosquitto",
        "systemctl enable --now tokenmeter",
    ]


def install_service(
    root: Path,
    *,
    executable: Path | None = None,
    user: str = SERVICE_USER,
    as_root: bool | None = None,
) -> InstallReport:
    """Write the box's files under ``root``; see the module docstring."""
    report = InstallReport()
    writer = _Writer(root, report)
    writer.folder(CONFIG_DIR, 0o750)
    writer.folder(DATA_DIR, 0o750)
    writer.folder(DATA_DIR / "photos", 0o750)
    writer.file(UNIT_PATH, unit_text(executable or default_executable(), user), 0o644)
    writer.file(CONFIG_DIR / "config.toml", config_text(), 0o640, keep=True)
    env_path, boards_path = CONFIG_DIR / "env", CONFIG_DIR / "boards.env"
    service_password = _stored(writer.on_disk(env_path), "TOKENMETER_MQTT_PASSWORD")
    board_password = _stored(writer.on_disk(boards_path), "MQTT_PASSWORD")
    writer.file(env_path, env_text(service_password), 0o600, keep=True)
    writer.file(boards_path, boards_text(board_password), 0o600, keep=True)
    writer.file(MOSQUITTO_CONF, mosquitto_text(), 0o644)
    passwd = writer.on_disk(PASSWORD_FILE)
    lines = passwd.read_text(encoding="utf-8").splitlines() if passwd.exists() else []
    entries = dict(line.split(":", 1) for line in lines if ":" in line)
    wanted = {user: service_password, BOARD_USER: board_password}
    stale = [n for n, pw in wanted.items() if not check_mosquitto_hash(pw, entries.get(n, ""))]
    if stale:  # other users' lines stay
        entries.update({name: mosquitto_hash(wanted[name]) for name in stale})
        text = "".join(f"{name}:{hashed}\n" for name, hashed in sorted(entries.items()))
        writer.file(PASSWORD_FILE, text, 0o640)
    else:
        report.kept.append(PASSWORD_FILE)
    commands = owner_commands(user)
    running_as_root = (os.geteuid() == 0) if as_root is None else as_root
    if root.resolve() == Path("/") and running_as_root:
        for command in commands:
            subprocess.run(["/bin/sh", "-c", command], check=True, timeout=120)
            report.ran.append(command)
    else:
        report.to_run = commands
    return report
