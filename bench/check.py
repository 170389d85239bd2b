"""Benchmark of the check service through the simulated HTTP camera.

1. One meter, checked repeatedly: time of a check beyond the OCR time (budget 300 ms).
2. 50 meters checked at once with the configured concurrency (budget 5 s).
3. Peak RSS of the process (budget 200 MB).

Run: ``.venv/bin/python bench/check.py`` (add ``--rounds N`` / ``--meters N``).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import statistics
import sys
import tempfile
import threading
import time
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, not bench/ocr.py

import ocr
from ocr.reading import Image
from tokenmeter.config import Config
from tokenmeter.devices.camera import CameraClient
from tokenmeter.events import EventBus
from tokenmeter.services.check import CheckService
from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.sqlite import SqliteStore


class StillCamera(SimulatedMeter):
    """A simulated meter whose photo is drawn once: 50 real ESP32-CAMs take their
    photos in parallel on their own chips, so drawing is kept out of the service's time."""

    def photo_jpeg(self, size: tuple[int, int] = (640, 480), quality: int = 88) -> bytes:
        if not hasattr(self, "_still"):
            self._still = super().photo_jpeg(size, quality)
        return self._still


def _camera_farm(count: int, ports: mp.Queue[list[int]], stop: EventType) -> None:
    """Run ``count`` simulated HTTP cameras in this (separate) process until ``stop``."""
    servers = []
    for i in range(count):
        meter = StillCamera(f"m{i}", start_kwh=50 + i * 1.37)
        meter.photo_jpeg()
        servers.append(SimulatedCameraServer(meter).start())
    ports.put([s.port for s in servers])
    stop.wait()
    for server in servers:
        server.stop()


class CameraFarm:
    """Simulated cameras in a child process, like real ESP32-CAMs off the PC."""

    def __init__(self, count: int) -> None:
        self._ports: mp.Queue[list[int]] = mp.Queue()
        self._stop = mp.Event()
        self._process = mp.Process(target=_camera_farm, args=(count, self._ports, self._stop))

    def __enter__(self) -> list[str]:
        self._process.start()
        return [f"http://127.0.0.1:{port}/capture" for port in self._ports.get(timeout=60)]

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(timeout=10)


class TimedReader:
    """The project's OCR, timing each call (thread-safe sum)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, image: Image) -> ocr.Reading:
        start = time.perf_counter()
        try:
            return ocr.read_display(image)
        finally:
            with self._lock:
                self.seconds += time.perf_counter() - start
                self.calls += 1


def _config(tmp: Path, urls: list[str], concurrency: int) -> Config:
    return Config.model_validate(
        {
            "store": {"sqlite_path": str(tmp / "bench.db"), "photo_dir": str(tmp / "photos")},
            "checks": {"concurrency": concurrency, "max_kwh_per_hour": 1e9},
            "meters": [
                {"id": f"m{i}", "camera_url": url, "schedule": []} for i, url in enumerate(urls)
            ],
        }
    )


async def _service(tmp: Path, urls: list[str], concurrency: int):  # type: ignore[no-untyped-def]
    config = _config(tmp, urls, concurrency)
    store = SqliteStore(config.store.sqlite_path)
    camera = CameraClient(timeout_s=10, retries=0)
    reader = TimedReader()
    service = CheckService(config, store, camera, EventBus(), reader=reader)
    return service, store, camera, reader


async def one_meter(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, CameraFarm(1) as urls:
        service, store, camera, reader = await _service(Path(tmp), urls, 8)
        overheads, totals = [], []
        try:
            await service.check("m0", "bench")  # warm-up
            for _ in range(rounds):
                reader.seconds = 0.0
                start = time.perf_counter()
                await service.check("m0", "bench", fresh=True)
                total = time.perf_counter() - start
                totals.append(total)
                overheads.append(total - reader.seconds)
        finally:
            await camera.aclose()
            store.close()
    overheads.sort()
    return {
        "median_total_ms": statistics.median(totals) * 1000,
        "median_beyond_ocr_ms": statistics.median(overheads) * 1000,
        "p95_beyond_ocr_ms": overheads[int(len(overheads) * 0.95) - 1] * 1000,
        "max_beyond_ocr_ms": overheads[-1] * 1000,
    }


async def many_meters(count: int, concurrency: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, CameraFarm(count) as urls:
        service, store, camera, reader = await _service(Path(tmp), urls, concurrency)
        try:
            start = time.perf_counter()
            outcomes = await asyncio.gather(
                *(service.check(f"m{i}", "bench") for i in range(count))
            )
            wall = time.perf_counter() - start
        finally:
            await camera.aclose()
            store.close()
    return {
        "meters": float(len(outcomes)),
        "wall_s": wall,
        "ocr_cpu_s_sum": reader.seconds,
        "stored": float(sum(1 for o in outcomes if o.reading.id)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--meters", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    single = asyncio.run(one_meter(args.rounds))
    print(f"one meter, {args.rounds} checks over HTTP:")
    for key, value in single.items():
        print(f"  {key:24s} {value:8.1f}")
    crowd = asyncio.run(many_meters(args.meters, args.concurrency))
    print(f"{args.meters} meters at once, concurrency {args.concurrency}:")
    for key, value in crowd.items():
        print(f"  {key:24s} {value:8.2f}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the service    {rss_mb:8.1f} MB (cameras run in a child process)")
    ok = single["median_beyond_ocr_ms"] <= 300 and crowd["wall_s"] <= 5 and rss_mb < 200
    print("budgets met" if ok else "BUDGET MISSED")


if __name__ == "__main__":
    main()
