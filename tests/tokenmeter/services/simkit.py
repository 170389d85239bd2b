"""Helpers for tests that run the core against simulated meters."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import ocr
from ocr.reading import Image
from tokenmeter.config import Config
from tokenmeter.devices.camera import decode_jpeg
from tokenmeter.events import Event
from tokenmeter.sim.meter import SimulatedMeter


def sim_config(
    tmp_path: Path,
    broker_url: str,
    *,
    meters: tuple[str, ...] = ("rumah",),
    camera_url: str = "sim:",
    low_kwh: float = 10.0,
    max_kwh_per_hour: float = 5.0,
    result_timeout_s: float = 10.0,
    photos_keep: int = 50,
) -> Config:
    """A config on a fresh SQLite file and a unique topic prefix."""
    return Config.model_validate(
        {
            "store": {
                "sqlite_path": str(tmp_path / "tm.db"),
                "photo_dir": str(tmp_path / "photos"),
                "photos_keep": photos_keep,
            },
            "mqtt": {"url": broker_url, "prefix": f"t{uuid.uuid4().hex[:8]}"},
            "checks": {
                "max_kwh_per_hour": max_kwh_per_hour,
                "camera_timeout_s": 2.0,
                "camera_retries": 1,
                "concurrency": 4,
            },
            "topup": {"result_timeout_s": result_timeout_s, "settle_s": 0.05},
            "meters": [
                {"id": m, "camera_url": camera_url, "low_kwh": low_kwh, "schedule": []}
                for m in meters
            ],
        }
    )


def _pixels_key(image: Image) -> str:
    return hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest()


class ShownReader:
    """Reads a simulated meter's photo by looking up what the meter drew in it.

    Stands in for the OCR (another package, tested on its own) so these tests
    check the services' logic on exact values. Anything that is not a number on
    the display (an error, an unknown photo) reads as unreadable.
    """

    def __init__(self) -> None:
        self._shown: dict[str, str] = {}
        self._lock = threading.Lock()
        self.calls = 0

    def watch(self, meter: SimulatedMeter) -> None:
        meter.on_photo = self._record

    def _record(self, shown: str, jpeg: bytes) -> None:
        image = decode_jpeg(jpeg)
        with self._lock:
            self._shown[_pixels_key(image)] = shown

    def __call__(self, image: Image) -> ocr.Reading:
        with self._lock:
            self.calls += 1
            shown = self._shown.get(_pixels_key(image), "")
        try:
            value = float(shown)
        except ValueError:
            return ocr.Reading(status="unreadable", value=None, text="", confidence=0.0)
        if "." not in shown:
            return ocr.Reading(status="unreadable", value=None, text=shown, confidence=0.2)
        return ocr.Reading(status="ok", value=value, text=shown, confidence=0.99)


class ScriptedReader:
    """Returns the given values in turn (None = unreadable): for plausibility tests."""

    def __init__(self, values: list[float | None]) -> None:
        self.values = list(values)
        self.calls = 0

    def __call__(self, image: Image) -> ocr.Reading:
        self.calls += 1
        value = self.values.pop(0) if self.values else None
        if value is None:
            return ocr.Reading(status="unreadable", value=None, text="", confidence=0.0)
        return ocr.Reading(status="ok", value=value, text=f"{value:.2f}", confidence=0.99)


class EventLog:
    """A notifier that keeps every event."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


async def eventually(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` on the loop until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Blocking twin of ``eventually`` for thread-based tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def token(n: int) -> str:
    """A valid 20-digit token, different for each ``n``."""
    return f"{1234567890123456 * 1000 + n:020d}"[-20:]
