"""Tests for tokenmeter.devices.broker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from tokenmeter.devices.broker import LocalBroker, free_port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_local_broker_starts_stops_and_restarts_on_same_port() -> None:
    """The broker listens on its port, stops, and comes back on the same port."""
    broker = LocalBroker()
    try:
        broker.start()
        port = broker.port
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert broker.running and _listening(port)
        broker.stop()
        assert not broker.running and not _listening(port)
        broker.start()
        assert broker.port == port and _listening(port)
    finally:
        broker.close()


def test_free_port_is_bindable() -> None:
    """free_port returns a port that can be bound right away."""
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


CTRL_C_CHILD = """
import signal, sys, threading
from tokenmeter.devices.broker import LocalBroker
broker = LocalBroker().start()
interrupted = threading.Event()
signal.signal(signal.SIGINT, lambda *_: interrupted.set())
print("ready", flush=True)
interrupted.wait(20)
interrupted.clear()
interrupted.wait(0.5)  # mosquitto, had it been signalled too, is gone by now
print("running" if broker.running else "gone", flush=True)
broker.close()
"""


def test_ctrl_c_reaches_the_service_not_its_broker() -> None:
    """Ctrl-C signals the terminal's whole process group; the broker keeps running
    until the service stops it, so clients do not see it vanish under them."""
    child = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, standing in for the terminal's
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        os.killpg(child.pid, signal.SIGINT)
        assert child.stdout.readline().strip() == "running"
        assert child.wait(timeout=10) == 0
    finally:
        if child.poll() is None:
            child.kill()


def _wait(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_broker_that_dies_is_started_again_on_its_port() -> None:
    """mosquitto killed under the broker comes back on the same port, counted in health."""
    with LocalBroker() as broker:
        first = broker.pid
        assert first is not None and broker.health() == {"ok": True, "running": True, "restarts": 0}
        os.kill(first, signal.SIGKILL)
        assert _wait(lambda: broker.restarts == 1)
        assert broker.pid != first and broker.running and _listening(broker.port)


def test_a_stopped_broker_stays_stopped() -> None:
    """stop() is not a death: nothing starts it again until start()."""
    broker = LocalBroker()
    try:
        broker.start()
        broker.stop()
        time.sleep(1.0)  # a restart would be listening by now
        assert not _listening(broker.port) and broker.pid is None and broker.restarts == 0
    finally:
        broker.close()
