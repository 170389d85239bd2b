"""Shared fixtures: a real mosquitto broker on a free port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
