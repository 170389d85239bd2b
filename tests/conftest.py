"""Shared fixtures: a real mosquitto broker, a local Realtime Database server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tokenmeter.devices.broker import LocalBroker, find_mosquitto


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """A real mosquitto for the whole session (tests must not stop it)."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed: run 'make setup'")
    with LocalBroker() as running:
        yield running


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    """A private mosquitto a test may stop and restart (same port)."""
    with LocalBroker() as running:
        yield running


_namespaces = itertools.count()


@pytest.fixture(scope="module")
def rtdb() -> Iterator[FirebaseRtdbServer]:
    """A local Realtime Database server shared by one test module (tests must not stop it)."""
    with FirebaseRtdbServer() as server:
        yield server


@pytest.fixture
def ns() -> str:
    """A fresh database namespace (``?ns=``) for one test, so tests never see each other."""
    return f"test-{next(_namespaces)}"
