"""Memory of reading displays on N threads: each thread that reads keeps its own
copy of the network (``ocr/line_model.py``), which is why the check service reads
on a pool of min(checks.concurrency, CPU cores) threads.

Usage: .venv/bin/python bench/reader_threads.py [--threads 1,2,8,20] [--reads 200]

Each thread count runs in a fresh process: one simulated-meter photo is read once
on the main thread, then ``--reads`` times on a pool of N threads; the process's RSS
is printed after each step.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, not bench/ocr.py


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(threads: int, reads: int) -> None:
    """(child process) Read one photo ``reads`` times on ``threads`` threads."""
    import cv2
    import numpy as np

    import ocr
    from tokenmeter.sim.meter import SimulatedMeter

    with tempfile.TemporaryDirectory() as tmp:
        meter = SimulatedMeter("bench", state_path=Path(tmp) / "bench.json")
        jpeg = np.frombuffer(meter.photo_jpeg(), np.uint8)
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert decoded is not None, "the simulated camera's JPEG did not decode"
    image = np.asarray(decoded, np.uint8)
    first = ocr.read_display(image).value
    once = rss_mb()
    with ThreadPoolExecutor(threads) as pool:
        values = set(pool.map(lambda _: ocr.read_display(image).value, range(reads)))
    read = sorted(values | {first}, key=lambda v: -1.0 if v is None else v)  # None: unreadable
    print(
        f"{threads:>3} thread(s): RSS {once:.0f} MB after one read, {rss_mb():.0f} MB after"
        f" {reads} reads (values read: {read})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", default="1,2,8,20")
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child, args.reads)
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for threads in (int(n) for n in args.threads.split(",")):
        command = [sys.executable, __file__, "--child", str(threads), "--reads", str(args.reads)]
        subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
