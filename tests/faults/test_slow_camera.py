"""Faults: a camera that is slow, floods, fails or sends no photo (real sockets).

A camera that drips one byte every 2 s must be cut off at ``camera_timeout_s`` for
the whole snapshot; an answer of 64 MB must not be read past the size cap; and the
owner must be told which of "not reached", "answered with an HTTP error", "not a
photo" and "too large" happened, in Indonesian and in English, by every door.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.telegram.views import outcome_caption
from tests.tokenmeter.services.simkit import sim_config
from tokenmeter.console import check_line
from tokenmeter.devices.camera import MAX_SNAPSHOT_BYTES, CameraClient
from tokenmeter.domain import Meter, ReadingStatus
from tokenmeter.errors import CameraUnavailable
from tokenmeter.events import CheckOutcome, EventBus
from tokenmeter.services.check import CheckService
from tokenmeter.store.sqlite import SqliteStore

HUGE = 64 * 1024 * 1024
CHUNK = 256 * 1024


class FaultyCamera:
    """A TCP server that reads each request and answers it with ``behave(conn, self)``."""

    def __init__(self, behave: Callable[[socket.socket, FaultyCamera], None]) -> None:
        self.behave = behave
        self.sent = 0  # body bytes the client accepted
        self.stopped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/capture"

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            request = b""
            try:
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                self.behave(conn, self)
            except OSError:
                pass  # the client hung up: what these tests want

    def close(self) -> None:
        self.stopped.set()
        self._listener.close()


def trickle(conn: socket.socket, camera: FaultyCamera) -> None:
    """A whole answer, one byte every 2 s."""
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\n\xff\xd8"
    for byte in answer:
        if camera.stopped.wait(2.0):
            return
        conn.sendall(bytes([byte]))


def flood(declare_length: bool) -> Callable[[socket.socket, FaultyCamera], None]:
    """A 64 MB "JPEG", its length declared in the headers or not."""

    def behave(conn: socket.socket, camera: FaultyCamera) -> None:
        length = f"Content-Length: {HUGE}\r\n" if declare_length else ""
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n{length}Connection: close\r\n\r\n"
        conn.sendall(head.encode())
        chunk = b"\xff\xd8" + bytes(CHUNK - 2)
        while camera.sent < HUGE and not camera.stopped.is_set():
            conn.sendall(chunk)
            camera.sent += len(chunk)

    return behave


def answer(status: str, body: bytes, content_type: str) -> Callable[..., None]:
    def behave(conn: socket.socket, camera: FaultyCamera) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return behave


def _meter(url: str) -> Meter:
    return Meter(id="rumah", name="Rumah", camera_url=url)


@pytest.fixture
async def client() -> AsyncIterator[CameraClient]:
    """A camera client with a 3 s snapshot deadline and no retry."""
    made = CameraClient(timeout_s=3.0, retries=0)
    yield made
    await made.aclose()


async def test_a_trickling_camera_is_cut_off_at_the_snapshot_deadline(
    client: CameraClient,
) -> None:
    """One byte every 2 s never trips a per-read timeout; the snapshot still ends at 3 s."""
    camera = FaultyCamera(trickle)
    began = time.monotonic()
    try:
        with pytest.raises(CameraUnavailable) as caught:
            await asyncio.wait_for(client.snapshot(_meter(camera.url)), 20)
    except TimeoutError:
        pytest.fail("the snapshot was still reading a byte every 2 s after 20 s")
    finally:
        camera.close()
    assert time.monotonic() - began < 3.0 + 1.5
    assert caught.value.reason == "unreachable"


@pytest.mark.parametrize("declare_length", [False, True], ids=["streamed", "declared"])
async def test_a_huge_answer_is_not_read_past_the_cap(
    client: CameraClient, declare_length: bool
) -> None:
    """A 64 MB answer is refused as too large once the cap is passed, not read whole."""
    camera = FaultyCamera(flood(declare_length))
    try:
        with pytest.raises(CameraUnavailable) as caught:
            await asyncio.wait_for(client.snapshot(_meter(camera.url)), 20)
        await asyncio.sleep(0.3)  # let the server notice the hang-up
    finally:
        camera.close()
    # the cap, plus what the two sockets' buffers hold
    assert camera.sent < MAX_SNAPSHOT_BYTES + 16 * 1024 * 1024 < HUGE
    assert caught.value.reason == "too_large"


async def test_a_refused_answer_is_freed_at_once(client: CameraClient) -> None:
    """With the cyclic GC off, five refused 64 MB answers leave less than one cap of
    memory behind: a refused body is freed when refused, not when the cyclic GC
    collects its error's traceback (they added up to 40 MB of RSS)."""
    camera = FaultyCamera(flood(False))
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            with pytest.raises(CameraUnavailable):
                await asyncio.wait_for(client.snapshot(_meter(camera.url)), 20)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        gc.enable()
        camera.close()
    assert kept < MAX_SNAPSHOT_BYTES, f"{kept / 2**20:.1f} MB kept after five refusals"


@dataclass
class _Case:
    behave: Callable[[socket.socket, FaultyCamera], None] | None  # None: nobody listens
    error: str


CASES = {
    "not reached": _Case(None, "camera_unavailable"),
    "HTTP 500": _Case(
        answer("500 Internal Server Error", b"oops", "text/plain"), "camera_http_500"
    ),
    "not a photo": _Case(answer("200 OK", b"<html>login</html>", "text/html"), "camera_not_photo"),
    "too large": _Case(flood(True), "camera_too_large"),
}


async def _check(tmp_path: Path, case: _Case) -> CheckOutcome:
    camera = FaultyCamera(case.behave) if case.behave is not None else None
    if camera is not None:
        url = camera.url
    else:
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{unused.getsockname()[1]}/capture"
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1", camera_url=url)
    store = SqliteStore(config.store.sqlite_path)
    client = CameraClient(timeout_s=3.0, retries=0)
    try:
        return await CheckService(config, store, client, EventBus()).check("rumah", "cli")
    finally:
        await client.aclose()
        store.close()
        if camera is not None:
            camera.close()


async def test_each_camera_failure_has_its_own_sentence(tmp_path: Path) -> None:
    """Not reached, HTTP error, not a photo and too large are stored as such and told
    apart by the console and Telegram, in Indonesian and in English."""
    told: dict[str, dict[str, str]] = {}
    for name, case in CASES.items():
        outcome = await _check(tmp_path / name.replace(" ", "_"), case)
        reading = outcome.reading
        assert reading.status is ReadingStatus.CAMERA_ERROR and reading.kwh is None
        assert reading.error == case.error, name
        told[name] = {}
        for lang in ("id", "en"):
            line = check_line(outcome, lang).removeprefix(f"[{outcome.meter.name}] ")
            assert line in outcome_caption(outcome, lang), (name, lang)
            told[name][lang] = line
    for lang in ("id", "en"):
        sentences = [told[name][lang] for name in CASES]
        assert len(set(sentences)) == len(CASES), sentences
    assert "500" in told["HTTP 500"]["id"] and "500" in told["HTTP 500"]["en"]
    assert "Wi-Fi" in told["not reached"]["en"]
    assert all("Wi-Fi" not in told[name]["en"] for name in CASES if name != "not reached")
    assert told["not reached"]["id"] != told["not reached"]["en"]
