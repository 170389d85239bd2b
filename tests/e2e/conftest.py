"""The service as a user runs it (``tokenmeter serve --config FILE`` in a subprocess),
with test-side stand-ins for everything outside: HTTP cameras serving fixture photos,
the Bot API server, Blynk.Cloud's MQTT side, the Realtime Database, and the ESP32
keypad (the project's simulated keypad device, run here in the test process)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cv2
import pytest

import ocr
from tokenmeter.devices.broker import LocalBroker

PHOTOS = Path(__file__).resolve().parents[1] / "fixtures" / "photos"
REPO = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 30.0

OWNER = 1001
"""The Telegram chat allowed in every end-to-end config."""
BOT_TOKEN = "123456:TEST-token"
"""The bot token the test-side Bot API server answers to."""


# -- fixture photos ----------------------------------------------------------
@dataclass(frozen=True)
class Photo:
    name: str
    value: float
    jpeg: bytes


@cache
def readable_photos() -> tuple[Photo, ...]:
    """Fixture photos (positives) that the project's reader reads as labelled, by value.

    The reader is improved in parallel; the end-to-end tests are about the wiring, so
    they use photos it reads today (and fail below if it reads too few)."""
    labels = json.loads((PHOTOS / "labels.json").read_text(encoding="utf-8"))
    found: dict[float, Photo] = {}
    for name, label in sorted(labels.items()):
        value = label.get("value")
        if value is None or value in found:
            continue
        path = PHOTOS / name
        image = cv2.imread(str(path))
        assert image is not None, path
        read = ocr.read_display(image.astype("uint8"))
        if read.value is not None and abs(read.value - float(value)) < 1e-6:
            found[float(value)] = Photo(name, float(value), path.read_bytes())
    return tuple(sorted(found.values(), key=lambda photo: photo.value))


def photos(count: int) -> list[Photo]:
    """``count`` readable photos with increasing values."""
    available = readable_photos()
    if len(available) < count:
        pytest.fail(f"the reader reads only {len(available)} fixture photos; {count} needed")
    step = len(available) // count
    return [available[i * step] for i in range(count)]


# -- an HTTP camera ------------------------------------------------------------
class _CameraHandler(BaseHTTPRequestHandler):
    server: FixtureCamera

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/capture":
            self.send_error(404)
            return
        body = self.server.choose().jpeg
        self.server.captures += 1
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class FixtureCamera(ThreadingHTTPServer):
    """An ESP32-CAM stand-in: ``GET /capture`` answers the photo ``choose()`` picks."""

    daemon_threads = True

    def __init__(self, choose: Callable[[], Photo]) -> None:
        super().__init__(("127.0.0.1", 0), _CameraHandler)
        self.choose = choose
        self.captures = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/capture"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


# -- the service process --------------------------------------------------------------
def tokenmeter_command() -> list[str]:
    """The console script next to this Python (what ``make setup`` installs)."""
    script = Path(sys.executable).with_name("tokenmeter")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from tokenmeter.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return int(answer.status), json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return int(err.code), json.loads(err.read())


@dataclass
class ServiceProcess:
    """``tokenmeter serve --config FILE`` as a subprocess; stderr goes to a file."""

    config_path: Path
    health_port: int
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0
    stop_seconds: float | None = None

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/healthz"

    @property
    def log_path(self) -> Path:
        return self.config_path.with_name(f"serve-{self.runs}.log")

    def start(self) -> ServiceProcess:
        self.runs += 1
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [*tokenmeter_command(), "serve", "--config", str(self.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.config_path.parent,
            env={**os.environ, **self.env},
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Wait for ``/healthz`` to answer ok; its body."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.output()
            try:
                status, body = get_json(self.health_url)
                if status == 200 and body.get("ok"):
                    return body
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready in {timeout} s: {body}\n{self.output()}")

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM; the exit code (the time it took is kept in ``stop_seconds``)."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"no exit {timeout} s after SIGTERM\n{self.output()}") from None
        self.stop_seconds = time.monotonic() - began
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        path = self.log_path
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


@pytest.fixture
def private_broker() -> Iterator[LocalBroker]:
    """A mosquitto of this test's own (Blynk.Cloud topics carry no prefix)."""
    with LocalBroker() as running:
        yield running
