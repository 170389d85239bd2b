"""Tests for tokenmeter.devices.broker."""

from __future__ import annotations

import socket

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
