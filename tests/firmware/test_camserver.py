"""The ESP32-CAM's HTTP server over a real socket, with a fake OV2640 and flash LED."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.firmware.conftest import Firmware


@pytest.fixture
def cam(esp32cam: Firmware) -> Iterator[Any]:
    main = esp32cam.load("main")
    app = main.build(esp32cam.example_config(HTTP_PORT=0))
    app.server.open(host="127.0.0.1")
    yield app
    app.server.close()


def get(app: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    """One request while the server handles exactly one connection in a thread."""
    handled = threading.Event()

    def serve() -> None:
        for _ in range(50):
            if app.server.serve_once():
                handled.set()
                return

    worker = threading.Thread(target=serve)
    worker.start()
    conn = http.client.HTTPConnection("127.0.0.1", app.server.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()
        worker.join(10)
    assert handled.is_set()
    return response.status, headers, body


def test_capture_returns_a_jpeg_taken_with_the_flash_on(esp32cam: Firmware, cam: Any) -> None:
    """GET /capture: 200 image/jpeg; the flash was on during the capture and is off after."""
    status, headers, body = get(cam, "/capture")
    assert status == 200 and headers["content-type"] == "image/jpeg"
    assert body[:2] == b"\xff\xd8" and body[-2:] == b"\xff\xd9"
    assert int(headers["content-length"]) == len(body)
    assert esp32cam.board.camera.flash_at_capture == [1]
    flash = esp32cam.board.pins[4]
    assert flash.level == 0
    assert [level for _, level in flash.history] == [0, 0, 1, 0]


def test_the_frame_is_freed_after_every_request(esp32cam: Firmware, cam: Any) -> None:
    """No reference to a frame survives the request, and the heap is collected."""
    collections = esp32cam.gc.collections
    for _ in range(3):
        assert get(cam, "/capture")[0] == 200
    assert len(esp32cam.board.camera.frames) == 3
    assert all(ref() is None for ref in esp32cam.board.camera.frames)
    assert esp32cam.gc.collections >= collections + 3


def test_flash_off_on_request(esp32cam: Firmware, cam: Any) -> None:
    """?flash=0 takes the picture in the dark; flash=2 is a bad request."""
    assert get(cam, "/capture?flash=0")[0] == 200
    assert esp32cam.board.camera.flash_at_capture == [0]
    assert get(cam, "/capture?flash=2")[0] == 400


def test_a_failing_camera_gives_503_and_the_flash_goes_off(esp32cam: Firmware, cam: Any) -> None:
    """Two bad frames in a row (re-init in between) answer 503, never a broken JPEG."""
    esp32cam.board.camera.fail_next = 2
    status, _, body = get(cam, "/capture")
    assert status == 503 and b"camera" in body
    assert esp32cam.board.pins[4].level == 0
    assert get(cam, "/capture")[0] == 200


def test_one_bad_frame_is_retried_after_reinit(esp32cam: Firmware, cam: Any) -> None:
    """A single failed capture re-initialises the camera and still answers 200."""
    esp32cam.board.camera.fail_next = 1
    assert get(cam, "/capture")[0] == 200
    assert esp32cam.board.camera.framesize_set == esp32cam.board.camera.FRAME_SVGA


def test_status_and_unknown_paths(cam: Any) -> None:
    """GET /status is JSON about the camera; anything else is 404."""
    get(cam, "/capture")
    status, headers, body = get(cam, "/status")
    assert status == 200 and headers["content-type"] == "application/json"
    info = json.loads(body)
    assert info["device"] == "camera" and info["captures"] == 1 and info["framesize"] == "SVGA"
    assert get(cam, "/nope")[0] == 404


def test_mqtt_status_with_last_will_on_its_own_topic(esp32cam: Firmware, cam: Any) -> None:
    """The camera's retained status and will use camera/status, not the keypad's topic."""
    assert cam.link.ensure()
    topic = "tokenmeter/rumah/camera/status"
    assert esp32cam.broker.on(topic)[-1]["device"] == "camera"
    esp32cam.broker.drop()
    assert esp32cam.broker.on(topic)[-1] == {"online": False, "device": "camera"}
    assert esp32cam.broker.on("tokenmeter/rumah/status") == []
    cam.step()  # notices the lost session
    assert not cam.link.connected
    esp32cam.clock.advance(cam.link.backoff_ms)
    cam.step()
    assert cam.link.connected
