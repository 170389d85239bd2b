"""Tests for tokenmeter.devices.camera over real HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tokenmeter.devices.camera import MAX_SNAPSHOT_BYTES, CameraClient, decode_jpeg, with_flash
from tokenmeter.domain import Meter
from tokenmeter.errors import CameraUnavailable
from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.meter import SimulatedMeter


class _Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next (status, body) of the server's script."""

    server: ScriptedCamera

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        self.server.encodings.append(self.headers.get("Accept-Encoding", ""))
        status, body = self.server.script.pop(0) if self.server.script else (500, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class ScriptedCamera(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[tuple[int, bytes]]) -> None:
        super().__init__(("127.0.0.1", 0), _Scripted)
        self.script = script
        self.paths: list[str] = []
        self.encodings: list[str] = []
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/capture"


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    yield int(listener.getsockname()[1])
    listener.close()


def _meter(url: str) -> Meter:
    return Meter(id="rumah", name="Rumah", camera_url=url)


JPEG = SimulatedMeter("rumah", start_kwh=12.0).photo_jpeg()


def test_with_flash_adds_the_parameter_once() -> None:
    """flash=1 (flash=0 when off) is added to the query, kept when present."""
    assert with_flash("http://cam/capture") == "http://cam/capture?flash=1"
    assert with_flash("http://cam/capture?x=2") == "http://cam/capture?x=2&flash=1"
    assert with_flash("http://cam/capture?flash=0") == "http://cam/capture?flash=0"
    assert with_flash("http://cam/capture", on=False) == "http://cam/capture?flash=0"
    assert with_flash("http://cam/capture?flash=1", on=False) == "http://cam/capture?flash=1"


def test_decode_jpeg_checks_markers() -> None:
    """A JPEG decodes; missing markers or garbage raise CameraUnavailable."""
    assert decode_jpeg(JPEG).shape == (480, 640, 3)
    for bad in (b"", b"<html>", JPEG[:-200], b"\xff\xd8" + b"\x00" * 100 + b"\xff\xd9"):
        with pytest.raises(CameraUnavailable):
            decode_jpeg(bad)


async def test_snapshot_from_the_simulated_http_camera() -> None:
    """A snapshot over HTTP from the simulated camera is a decoded photo."""
    server = SimulatedCameraServer(SimulatedMeter("rumah", start_kwh=20.0)).start()
    client = CameraClient(timeout_s=3, retries=0)
    try:
        snapshot = await client.snapshot(_meter(server.url))
    finally:
        await client.aclose()
        server.stop()
    assert snapshot.jpeg[:2] == b"\xff\xd8"
    assert snapshot.image.shape == (480, 640, 3)


async def test_flash_is_requested_and_one_retry_follows_a_failure() -> None:
    """The request carries flash=1; an HTTP 500 is retried once, then the JPEG is taken."""
    camera = ScriptedCamera([(500, b"busy"), (200, JPEG)])
    client = CameraClient(timeout_s=3, retries=1, retry_pause_s=0)
    try:
        snapshot = await client.snapshot(_meter(camera.url))
    finally:
        await client.aclose()
        camera.shutdown()
    assert snapshot.jpeg == JPEG
    assert camera.paths == ["/capture?flash=1", "/capture?flash=1"]


async def test_a_snapshot_without_flash_asks_flash_0() -> None:
    """``flash=False`` (a profile photographing without the LED) asks ``flash=0``."""
    camera = ScriptedCamera([(200, JPEG)])
    client = CameraClient(timeout_s=3, retries=0)
    try:
        await client.snapshot(_meter(camera.url), flash=False)
    finally:
        await client.aclose()
        camera.shutdown()
    assert camera.paths == ["/capture?flash=0"]


async def test_not_a_jpeg_is_unavailable_with_a_reason() -> None:
    """An HTML page twice gives CameraUnavailable saying it is not a JPEG (not a photo)."""
    camera = ScriptedCamera([(200, b"<html>"), (200, b"<html>")])
    client = CameraClient(timeout_s=3, retries=1, retry_pause_s=0)
    try:
        with pytest.raises(CameraUnavailable, match="not a JPEG") as caught:
            await client.snapshot(_meter(camera.url))
    finally:
        await client.aclose()
        camera.shutdown()
    assert len(camera.paths) == 2
    assert caught.value.reason == "not_photo"
    assert caught.value.reading_error == "camera_not_photo"


async def test_http_error_and_too_large_have_their_reasons() -> None:
    """HTTP 503 is an http_error with its status; an answer just over the cap is too_large;
    the camera is asked for an uncompressed answer."""
    too_big = b"\xff\xd8" + bytes(MAX_SNAPSHOT_BYTES)
    camera = ScriptedCamera([(503, b"busy"), (200, too_big)])
    client = CameraClient(timeout_s=3, retries=0)
    try:
        with pytest.raises(CameraUnavailable, match="HTTP 503") as failed:
            await client.snapshot(_meter(camera.url))
        with pytest.raises(CameraUnavailable, match="larger than") as large:
            await client.snapshot(_meter(camera.url))
    finally:
        await client.aclose()
        camera.shutdown()
    assert (failed.value.reason, failed.value.status) == ("http_error", 503)
    assert failed.value.reading_error == "camera_http_503"
    assert large.value.reason == "too_large"
    assert camera.encodings == ["identity", "identity"]


async def test_camera_that_never_answers_times_out(silent_port: int) -> None:
    """A server that accepts and stays silent ends in CameraUnavailable after the retry."""
    client = CameraClient(timeout_s=0.3, retries=1, retry_pause_s=0)
    try:
        with pytest.raises(CameraUnavailable, match=r"no answer within 0\.3 s") as caught:
            await client.snapshot(_meter(f"http://127.0.0.1:{silent_port}/capture"))
    finally:
        await client.aclose()
    assert caught.value.reason == "unreachable"
    assert caught.value.reading_error == "camera_unavailable"


async def test_camera_nobody_listens_on() -> None:
    """A refused connection is CameraUnavailable, not an exception from httpx."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    client = CameraClient(timeout_s=1, retries=0)
    try:
        with pytest.raises(CameraUnavailable, match="cannot reach"):
            await client.snapshot(_meter(f"http://127.0.0.1:{port}/capture"))
    finally:
        await client.aclose()


async def test_sim_urls_use_the_in_process_meter() -> None:
    """sim: uses the meter of the same id, sim:<id> another; an unknown one is unavailable."""
    meters = {"rumah": SimulatedMeter("rumah", start_kwh=5.0), "kos": SimulatedMeter("kos")}
    client = CameraClient(timeout_s=3, retries=0, sim_meters=meters)
    try:
        await client.snapshot(_meter("sim:"))
        await client.snapshot(_meter("sim:kos"))
        with pytest.raises(CameraUnavailable, match="no simulated meter"):
            await client.snapshot(_meter("sim:nope"))
    finally:
        await client.aclose()
    assert meters["rumah"].last_shown == "5.00"
    assert meters["kos"].last_shown == "120.00"
