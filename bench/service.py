"""Benchmark of ``tokenmeter serve``: cold start to ready, idle CPU and RSS; with
``--slot-meters N``, one scheduled slot of N meters told as slot summaries.

Usage: .venv/bin/python bench/service.py [--meters 10] [--idle 30] [--starts 5]
       .venv/bin/python bench/service.py --slot-meters 200 [--chats 2]

"Ready" is the first ``GET /healthz`` answering 200 ``ok``, measured from the
moment the process is spawned (interpreter start and imports included). Idle CPU
and RSS are read from /proc for the service process (the local mosquitto it starts
is a separate process, reported apart) with N simulated meters and no check due.

The slot run: ``serve`` with N meters all scheduled at the same minute, the real
OCR, Telegram pointed at the local fake Bot API (``tests/servers/telegram_api.py``)
with ``--chats`` allowed chats, and the devices outside the service as on a real box:
a mosquitto started here, and a child process holding N simulated keypad devices
(one MQTT client each) and one HTTP camera showing a shared simulated meter. Measured:
from the slot time to each chat's summary message, the messages each chat got for the
slot, and the peak RSS of the service process (sampled every 0.2 s from start-up to
the summary), with the device process and the broker reported apart.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
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
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.servers
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.devices.broker import LocalBroker

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
    log = config.with_suffix(".log")
    began = time.perf_counter()
    with log.open("ab") as output:
        proc = subprocess.Popen(
            [*TOKENMETER, "--config", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    while not healthy(port):
        if proc.poll() is not None or time.perf_counter() - began > 90:
            proc.kill()
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"the service did not become ready:\n{tail}")
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


PREFIX = "bench"
SIM_METER = "kos"


def host_devices(meters: int, broker_url: str, state_dir: str, pipe: Connection) -> None:
    """(child process) ``meters`` simulated keypad devices and one HTTP camera of a
    shared simulated meter; sends the camera URL, then runs until the pipe says stop."""
    from tokenmeter.sim.camera_server import SimulatedCameraServer
    from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
    from tokenmeter.sim.meter import SimulatedMeter

    meter = SimulatedMeter(SIM_METER, state_path=Path(state_dir) / f"{SIM_METER}.json")
    camera = SimulatedCameraServer(meter).start()
    devices = [
        SimulatedKeypadDevice(meter, broker_url, prefix=PREFIX, meter_id=f"k{i:03d}")
        for i in range(meters)
    ]
    for device in devices:
        device.start()
    pipe.send(camera.url)
    pipe.recv()  # stop
    for device in devices:
        device.stop()
    camera.stop()


def meter_lines(meters: int, camera_url: str, slot: str) -> list[str]:
    """``[[meters]]`` tables k000, k001 … on one camera, each checked at ``slot``."""
    lines: list[str] = []
    for i in range(meters):
        lines += [
            "[[meters]]",
            f'id = "k{i:03d}"',
            f'name = "Kamar {i + 1}"',
            f'camera_url = "{camera_url}"',
            f'schedule = ["{slot}"]',
        ]
    return lines


def slot_config(
    directory: Path,
    meters: int,
    port: int,
    api: FakeBotApi,
    chats: int,
    broker_url: str,
    camera_url: str,
) -> tuple[Path, float]:
    """A config whose meters are all due at the next minute at least 45 s away;
    returns it and the slot's time (epoch seconds)."""
    zone = ZoneInfo("Asia/Jakarta")
    slot = (datetime.now(zone) + timedelta(seconds=105)).replace(second=0, microsecond=0)
    lines = [
        "[store]",
        f'sqlite_path = "{directory / "tm.db"}"',
        f'photo_dir = "{directory / "photos"}"',
        "[mqtt]",
        f'url = "{broker_url}"',
        f'prefix = "{PREFIX}"',
        "[service]",
        f"health_port = {port}",
        'log_level = "WARNING"',
        "[telegram]",
        f'token = "{api.token}"',
        f'api_base_url = "{api.base_url}"',
        f"allowed_chats = {list(range(1001, 1001 + chats))}",
    ]
    lines += meter_lines(meters, camera_url, f"{slot:%H:%M}")
    path = directory / "slot.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, slot.timestamp()


def slot_run(meters: int, chats: int) -> None:
    """One slot of ``meters`` meters with summaries: time to summary, messages, RSS."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, FakeBotApi() as api, LocalBroker() as broker:
        ours, theirs = spawn.Pipe()
        devices = spawn.Process(target=host_devices, args=(meters, broker.url, tmp, theirs))
        devices.start()
        try:
            camera_url = ours.recv()
            port = free_port()
            config, slot_at = slot_config(
                Path(tmp), meters, port, api, chats, broker.url, camera_url
            )
            others = {f"{meters} simulated devices": devices.pid or 0}
            others["mosquitto"] = broker.pid or 0
            summaries = run_slot(config, port, slot_at, api, chats, others)
        finally:
            ours.send("stop")
            devices.join(30)
        report_slot(api, chats, slot_at, summaries)


def run_slot(
    config: Path, port: int, slot_at: float, api: FakeBotApi, chats: int, others: dict[str, int]
) -> dict[int, float]:
    """Start the service, wait for each chat's summary; print the peak RSS of the
    service and, apart, of the ``others`` processes (name -> pid)."""
    proc, took = start(config, port)
    ready = peak = rss_mb(proc.pid)
    peaks = dict.fromkeys(others, 0.0)
    try:
        wait = slot_at - time.time()
        meters = config.read_text(encoding="utf-8").count("[[meters]]")
        print(f"{meters} meters: cold start to ready {took:.2f} s; slot in {wait:.0f} s")
        summaries: dict[int, float] = {}
        deadline = slot_at + 120
        while len(summaries) < chats and time.time() < deadline:
            for call in api.calls_of("sendMessage"):
                if "Cek terjadwal" in call.text and call.chat_id not in summaries:
                    summaries[int(call.chat_id or 0)] = time.time()
            peak = max(peak, rss_mb(proc.pid))
            for name, pid in others.items():
                peaks[name] = max(peaks[name], rss_mb(pid))
            time.sleep(0.2)
        time.sleep(3)  # anything sent late would count against "one message"
        peak = max(peak, rss_mb(proc.pid))
    finally:
        stop(proc)
    apart = ", ".join(f"{name} {mb:.0f} MB" for name, mb in peaks.items())
    print(
        f"service process RSS: {ready:.0f} MB when ready, peak {peak:.0f} MB through the slot"
        f" (other processes' peaks: {apart})"
    )
    return summaries


def report_slot(api: FakeBotApi, chats: int, slot_at: float, summaries: dict[int, float]) -> None:
    for chat in range(1001, 1001 + chats):
        sent = [
            c
            for c in api.calls
            if c.ok
            and c.chat_id == chat
            and c.method.startswith("send")
            and c.method != "sendChatAction"
        ]
        summary = next((c.text for c in sent if "Cek terjadwal" in c.text), "(none)")
        after = summaries.get(chat, float("nan")) - slot_at
        print(
            f"chat {chat}: summary {after:.1f} s after the slot; {len(sent)} message(s)"
            f" ({', '.join(sorted({c.method for c in sent}))}): {summary[:160]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--meters", type=int, default=10)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--slot-meters", type=int, default=0, help="Run one slot of N meters.")
    parser.add_argument("--chats", type=int, default=2, help="Allowed chats in the slot run.")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if args.slot_meters:
        slot_run(args.slot_meters, args.chats)
        return
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
