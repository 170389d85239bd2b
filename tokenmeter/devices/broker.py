"""A local mosquitto broker on a free port, for the embedded defaults and the tests."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tokenmeter.errors import BrokerUnavailable

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "mosquitto is not installed. Install it with 'sudo apt-get install mosquitto' "
    "(or run 'make setup'), or set [mqtt] url to an existing broker."
)


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin)."""
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if Path(candidate).exists():
            return candidate
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalBroker:
    """mosquitto bound to 127.0.0.1 on a free (or given) port; ``stop()`` then
    ``start()`` restarts it on the same port (tests use this to cut the broker)."""

    def __init__(
        self, port: int = 0, host: str = "127.0.0.1", tls: tuple[Path, Path] | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.tls = tls  # (certificate, key), files mosquitto can read after dropping root
        self._dir = tempfile.TemporaryDirectory(prefix="tokenmeter-mosquitto-")
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> LocalBroker:
        binary = find_mosquitto()
        if binary is None:
            raise BrokerUnavailable(INSTALL_HINT)
        conf = Path(self._dir.name) / "mosquitto.conf"
        tls = f"certfile {self.tls[0]}\nkeyfile {self.tls[1]}\n" if self.tls else ""
        conf.write_text(
            f"listener {self.port} {self.host}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            "max_queued_messages 10000\n"
            "log_dest none\n" + tls,
            encoding="utf-8",
        )
        self._proc = subprocess.Popen(
            [binary, "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            # Ctrl-C in a terminal (or `timeout`) signals the whole process group; the
            # service stops the broker itself, after the clients that use it
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace") if self._proc.stderr else ""
                raise BrokerUnavailable(f"mosquitto exited at start: {err.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    log.debug("local broker up on %s", self.url)
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"mosquitto did not listen on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
