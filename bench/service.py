"""Benchmark of ``tokenmeter serve``: cold start to ready, idle CPU and RSS.

Usage: .venv/bin/python bench/service.py [--meters 10] [--idle 30] [--starts 5]

"Ready" is the first ``GET /healthz`` answering 200 ``ok``, measured from the
moment the process is spawned (interpreter start and imports included). Idle CPU
and RSS are read from /proc for the service process (the local mosquitto it starts
is a separate process, reported apart) with N simulated meters and no check due.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

TOKENMETER = [str(Path(sys.executable).with_name("tokenmeter")), "serve"]
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(directory: Path, meters: int, port: int) -> Path:
    lines = [
        "[store]",
        f'sqlite_path = "{directory / "tm.db"}"',
        f'photo_dir = "{directory / "photos"}"',
        "[service]",
        f"health_port = {port}",
        'log_level = "WARNING"',
    ]
    for i in range(meters):
        lines += ["[[meters]]", f'id = "m{i:02d}"', 'camera_url = "sim:"', 'schedule = ["03:00"]']
    path = directory / "bench.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return bool(json.loads(answer.read()).get("ok"))
    except (OSError, ValueError, urllib.error.HTTPError):
        return False


def start(config: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    began = time.perf_counter()
    proc = subprocess.Popen(
        [*TOKENMETER, "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not healthy(port):
        if proc.poll() is not None or time.perf_counter() - began > 60:
            raise RuntimeError("the service did not become ready")
        time.sleep(0.01)
    return proc, time.perf_counter() - began


def stop(proc: subprocess.Popen[bytes]) -> float:
    began = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    return time.perf_counter() - began


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the local mosquitto)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for meters in sorted({1, args.meters}):
            directory = Path(tmp) / f"m{meters}"
            directory.mkdir()
            port = free_port()
            config = write_config(directory, meters, port)
            starts, stops = [], []
            for _ in range(args.starts):
                proc, took = start(config, port)
                starts.append(took)
                stops.append(stop(proc))
            starts.sort()
            median = starts[len(starts) // 2]
            print(
                f"{meters:>2} sim meter(s): cold start to ready median {median:.2f} s"
                f" (min {starts[0]:.2f}, max {starts[-1]:.2f});"
                f" SIGTERM to exit max {max(stops):.2f} s"
            )
        directory = Path(tmp) / "idle"
        directory.mkdir()
        port = free_port()
        proc, _ = start(write_config(directory, args.meters, port), port)
        try:
            time.sleep(3)  # let start-up settle
            cpu0, wall0 = cpu_seconds(proc.pid), time.perf_counter()
            time.sleep(args.idle)
            cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - wall0) * 100
            rss = rss_mb(proc.pid)
            broker = [rss_mb(child) for child in children(proc.pid)]
            print(
                f"idle {args.idle:.0f} s with {args.meters} sim meters: CPU {cpu:.2f}% of one core,"
                f" RSS {rss:.0f} MB (local mosquitto {sum(broker):.0f} MB)"
            )
        finally:
            stop(proc)


if __name__ == "__main__":
    main()
