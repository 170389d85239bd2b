"""Tests for tokenmeter.sim.camera_server over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.meter import SimulatedMeter


@pytest.fixture
def server() -> Iterator[SimulatedCameraServer]:
    running = SimulatedCameraServer(SimulatedMeter("kos1", start_kwh=33.3)).start()
    yield running
    running.stop()


def test_capture_answers_a_jpeg(server: SimulatedCameraServer) -> None:
    """GET /capture?flash=1 gives image/jpeg bytes of the display."""
    with urllib.request.urlopen(server.url + "?flash=1", timeout=5) as response:
        body = response.read()
        assert response.headers["Content-Type"] == "image/jpeg"
    assert body[:2] == b"\xff\xd8" and b"\xff\xd9" in body[-4:]
    assert server.meter.last_shown == "33.30"


def test_status_says_online(server: SimulatedCameraServer) -> None:
    """GET /status is JSON naming the meter."""
    url = f"http://127.0.0.1:{server.port}/status"
    with urllib.request.urlopen(url, timeout=5) as response:
        assert json.loads(response.read()) == {"online": True, "meter": "kos1", "device": "camera"}


def test_unknown_path_is_404(server: SimulatedCameraServer) -> None:
    """Other paths are not found."""
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/nope", timeout=5)
    assert err.value.code == 404
