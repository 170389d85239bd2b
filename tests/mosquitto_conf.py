"""A real mosquitto running a given configuration (the files ``install-service``
writes), on a free local port: for tests of what a LAN broker accepts."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tokenmeter.devices.broker import find_mosquitto


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_mosquitto(directives: Mapping[str, str], conf_path: Path) -> Iterator[int]:
    """mosquitto with ``directives`` (written to ``conf_path``), listening on a free
    local port instead of the configured one and staying root (it would switch to a
    user that cannot read the test's files); yields the port once it accepts."""
    mosquitto = find_mosquitto()
    if mosquitto is None:
        pytest.fail("mosquitto is not installed: run 'make setup'")
    port = free_port()
    conf = {**directives, "listener": f"{port} 127.0.0.1", "user": "root"}
    conf_path.write_text("".join(f"{name} {value}\n" for name, value in conf.items()))
    broker = subprocess.Popen(
        [str(mosquitto), "-c", str(conf_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"mosquitto did not listen on {port} within 5 s")
                time.sleep(0.05)
        yield port
    finally:
        broker.terminate()
        broker.wait(timeout=5)
