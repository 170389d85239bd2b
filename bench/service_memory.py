"""Where the service's memory goes through a slot: RSS and Python allocations
(tracemalloc) of a service started in this process, with N meters whose slot is the
current minute (so the start-up catch-up checks them all at once).

Usage: .venv/bin/python bench/service_memory.py [--meters 200] [--trace]

The devices are in a child process as in ``bench/service.py --slot-meters``
(N simulated keypads, one HTTP camera of a shared simulated meter), the broker is a
local mosquitto, notifications go to the console (no Telegram). Printed: RSS after
imports, after building, when started, after the slot; with ``--trace`` also the
Python allocations made by starting and by the slot, by file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, not bench/ocr.py
from bench.service import PREFIX, host_devices, meter_lines, rss_mb
from tokenmeter.config import load_config
from tokenmeter.devices.broker import LocalBroker


def write_config(directory: Path, meters: int, broker_url: str, camera_url: str) -> Path:
    slot = datetime.now(ZoneInfo("Asia/Jakarta")).strftime("%H:%M")  # due now: caught up
    lines = [
        "[store]",
        f'sqlite_path = "{directory / "tm.db"}"',
        f'photo_dir = "{directory / "photos"}"',
        "[mqtt]",
        f'url = "{broker_url}"',
        f'prefix = "{PREFIX}"',
        "[service]",
        "health_port = 0",
        'log_level = "WARNING"',
    ]
    lines += meter_lines(meters, camera_url, slot)
    path = directory / "memory.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_file(after: tracemalloc.Snapshot, before: tracemalloc.Snapshot, label: str) -> None:
    stats = after.compare_to(before, "filename")
    grown = sum(stat.size_diff for stat in stats)
    print(f"python allocations {label}: {grown / 1e6:+.1f} MB; largest by file:")
    for stat in stats[:8]:
        print(f"  {stat.size_diff / 1e3:+9.0f} kB  {stat.traceback[0].filename}")


async def measure(config_path: Path, trace: bool) -> None:
    from tokenmeter.service import build_service

    print(f"imports: RSS {rss_mb(os.getpid()):.0f} MB")
    if trace:
        tracemalloc.start()
    service = build_service(load_config(config_path), health=False)
    print(f"built: RSS {rss_mb(os.getpid()):.0f} MB")
    built = tracemalloc.take_snapshot() if trace else None
    with contextlib.redirect_stdout(io.StringIO()):  # console notifications
        await service.start()
        started_rss = rss_mb(os.getpid())
        started = tracemalloc.take_snapshot() if trace else None
        began = time.perf_counter()
        await service.scheduler.wait_idle()
        took = time.perf_counter() - began
        await asyncio.sleep(2)  # the summary
    print(f"started: RSS {started_rss:.0f} MB")
    meters = len(service.core.config.meters)
    print(f"slot of {meters} meters in {took:.1f} s: RSS {rss_mb(os.getpid()):.0f} MB")
    if built is not None and started is not None:
        slot = tracemalloc.take_snapshot()
        by_file(started, built, "by starting")
        by_file(slot, started, "by the slot")
    with contextlib.redirect_stdout(io.StringIO()):
        await service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--trace", action="store_true", help="Python allocations too.")
    args = parser.parse_args()
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, LocalBroker() as broker:
        ours, theirs = spawn.Pipe()
        devices = spawn.Process(target=host_devices, args=(args.meters, broker.url, tmp, theirs))
        devices.start()
        try:
            camera_url = ours.recv()
            config = write_config(Path(tmp), args.meters, broker.url, camera_url)
            asyncio.run(measure(config, args.trace))
        finally:
            ours.send("stop")
            devices.join(30)


if __name__ == "__main__":
    main()
