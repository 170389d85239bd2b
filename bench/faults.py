"""The service under faults (issue 27): three measurements.

1. Top-up latency while the Telegram Bot API hangs (finding 8). The real service
   (``build_service``: core, Telegram door, Blynk door) on a local mosquitto, the
   local Bot API server (tests/servers/telegram_api.py) and a simulated meter. A
   token is written on Blynk's V0, as the app does; measured is the time from that
   write to the keypad command on ``{p}/{meter}/keypad/cmd``, ``--rounds`` times with
   the Bot API answering, then as many times with every Bot API request hanging.
   Each top-up is followed to its end before the next.
2. Keypad return to typing for a queued token (finding 7). The keypad is stopped
   (it says goodbye, offline), a token is entered and QUEUED; a keypad comes back
   (``SimulatedKeypadDevice.start``). Measured from that start to the keypad
   command for the token, and to the keypad having pressed it (keys at 0.05 of the
   real timing), ``--rounds`` times.
3. Memory with a 64 MB camera answer (finding 5). The camera is a TCP server that
   answers ``/capture`` with a 64 MB "JPEG" (its length declared in the headers, or
   not: then it is streamed until the client stops reading); ``--rounds`` checks of
   each. Measured is the process's resident memory (the service, and the camera
   server's threads), sampled every 2 ms, against the figure before the first of
   these checks; two checks of a camera answering 503 come before it.

    .venv/bin/python bench/faults.py [--rounds 10] [--part hang|queued|camera ...]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import platform
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not bench/

from tests.bot.blynk.conftest import AUTH_TOKEN, BlynkCloudSide  # noqa: E402
from tests.faults.test_slow_camera import CHUNK, HUGE, FaultyCamera  # noqa: E402
from tests.mqtt_watch import TopicWatcher  # noqa: E402
from tests.servers.telegram_api import FakeBotApi  # noqa: E402
from tokenmeter.app import SimOptions  # noqa: E402
from tokenmeter.config import Config  # noqa: E402
from tokenmeter.devices.broker import LocalBroker  # noqa: E402
from tokenmeter.domain import FINAL_TOPUP_STATUSES, TopUpStatus  # noqa: E402
from tokenmeter.service import Service, build_service  # noqa: E402
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice  # noqa: E402

OWNERS = [1001, 1002]
METER = "rumah"


def new_token() -> str:
    """A fresh 20-digit token under 2^66 - 1."""
    return "1" + "".join(random.choice("0123456789") for _ in range(19))


def describe(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms (n={len(ms)})"


async def top_up_once(
    service: Service, cloud: BlynkCloudSide, commands: TopicWatcher
) -> tuple[float, str]:
    """Write a token on V0; seconds until its keypad command, and the final status."""
    token = new_token()
    began = time.monotonic()
    cloud.app_write("V0", token)
    while not any(message.get("keys") == token for message in commands.all()):
        if time.monotonic() - began > 120:
            raise RuntimeError("no keypad command within 120 s")
        await asyncio.sleep(0.005)
    latency = time.monotonic() - began
    store = service.core.store
    while True:
        (topup,) = await asyncio.to_thread(store.list_topups, METER, None, 1)
        if topup.status in FINAL_TOPUP_STATUSES:
            return latency, topup.status.value
        await asyncio.sleep(0.05)


async def bench(rounds: int, workdir: Path) -> list[str]:
    lines: list[str] = []
    with LocalBroker() as broker, FakeBotApi() as api:
        config = Config.model_validate(
            {
                "store": {
                    "sqlite_path": str(workdir / "tokenmeter.db"),
                    "photo_dir": str(workdir / "photos"),
                },
                "mqtt": {"url": broker.url},
                "service": {"health_port": 0},
                "telegram": {
                    "token": api.token,
                    "api_base_url": api.base_url,
                    "allowed_chats": OWNERS,
                },
                "blynk": {
                    "transport": "mqtt",
                    "auth_token": AUTH_TOKEN,
                    "server": broker.host,
                    "port": broker.port,
                    "tls": False,
                },
                "topup": {"settle_s": 0.2},
                "meters": [{"id": METER, "name": "Rumah", "camera_url": "sim:", "schedule": []}],
            }
        )
        service = build_service(
            config, sim=SimOptions(key_time_scale=0.05, state_dir=workdir / "sim")
        )
        await service.start()
        cloud = BlynkCloudSide(broker).start()
        commands = TopicWatcher(broker, service.core.mqtt.topic(METER, "keypad/cmd"))
        try:
            assert service.telegram is not None and service.blynk is not None
            while not (service.telegram.polling and service.blynk.transport.connected):
                await asyncio.sleep(0.05)
            for label, hang in (("Bot API answering", False), ("Bot API hanging", True)):
                if hang:
                    api.hang()
                results = [await top_up_once(service, cloud, commands) for _ in range(rounds)]
                latencies = [latency for latency, _ in results]
                statuses = sorted({status for _, status in results})
                lines.append(
                    f"{label}: Blynk V0 write -> keypad command {describe(latencies)}; "
                    f"top-ups ended {', '.join(statuses)}"
                )
                if hang:
                    failed = sum(1 for call in api.calls if not call.ok)
                    health = service.telegram.health()["notifications"]
                    lines.append(f"Bot API requests left hanging: {failed}; queue: {health}")
        finally:
            api.recover()
            commands.stop()
            cloud.stop()
            await service.stop()
    return lines


def plain_config(
    workdir: Path, broker: LocalBroker, cameras: dict[str, str] | None = None
) -> Config:
    """Meters by id with their camera URLs (one simulated meter when none are given);
    no Telegram, no Blynk, no health port."""
    return Config.model_validate(
        {
            "store": {
                "sqlite_path": str(workdir / "tokenmeter.db"),
                "photo_dir": str(workdir / "photos"),
            },
            "mqtt": {"url": broker.url},
            "service": {"health_port": 0},
            "topup": {"settle_s": 0.2},
            "meters": [
                {"id": meter, "camera_url": url, "schedule": []}
                for meter, url in (cameras or {METER: "sim:"}).items()
            ],
        }
    )


async def until(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> float:
    """Poll ``predicate`` every 2 ms; the monotonic time it held."""
    began = time.monotonic()
    while not predicate():
        if time.monotonic() - began > timeout:
            raise RuntimeError(f"{what}: not within {timeout:.0f} s")
        await asyncio.sleep(0.002)
    return time.monotonic()


async def queued_once(
    service: Service, broker: LocalBroker, device: SimulatedKeypadDevice, commands: TopicWatcher
) -> tuple[SimulatedKeypadDevice, float, float, str]:
    """Stop ``device``, queue a token, start a new keypad: it, the seconds to the keypad
    command and to the token pressed, and the top-up's final status."""
    core = service.core
    await asyncio.to_thread(device.stop)
    await until(lambda: core.keypad.known_offline(METER), "keypad offline")
    token = new_token()
    topup = await core.topups.start(METER, token, "cli")
    queued = await core.topups.wait(METER, topup.id, 30)
    if queued.status is not TopUpStatus.QUEUED:
        raise RuntimeError(f"top-up not queued: {queued.status}")
    back = SimulatedKeypadDevice(
        core.sim_meters[METER], broker.url, prefix=core.config.mqtt.prefix, time_scale=0.05
    )
    began = time.monotonic()
    back.start()
    sent = await until(lambda: any(m.get("keys") == token for m in commands.all()), "command")
    pressed = await until(lambda: back.commands_pressed == 1, "pressed")
    done = await core.topups.wait(METER, topup.id, 60)
    return back, sent - began, pressed - began, done.status.value


async def bench_queued(rounds: int, workdir: Path) -> list[str]:
    """Keypad return -> keypad command, and -> pressed, for a token queued meanwhile."""
    to_command: list[float] = []
    to_pressed: list[float] = []
    statuses: set[str] = set()
    with LocalBroker() as broker:
        config = plain_config(workdir, broker)
        service = build_service(
            config, sim=SimOptions(key_time_scale=0.05, state_dir=workdir / "sim"), notifiers=[]
        )
        await service.start()
        core = service.core
        device = core.sim_devices[0]
        commands = TopicWatcher(broker, core.mqtt.topic(METER, "keypad/cmd"))
        try:
            for _ in range(rounds):
                device, command_s, pressed_s, status = await queued_once(
                    service, broker, device, commands
                )
                to_command.append(command_s)
                to_pressed.append(pressed_s)
                statuses.add(status)
        finally:
            await asyncio.to_thread(device.stop)
            commands.stop()
            await service.stop()
    return [
        f"keypad return -> keypad command for the queued token: {describe(to_command)}",
        f"keypad return -> token pressed (keys at 0.05 x real timing): {describe(to_pressed)}; "
        f"top-ups ended {', '.join(sorted(statuses))}",
    ]


def flood(declared: bool) -> Callable[[socket.socket, FaultyCamera], None]:
    """Answer every request with 64 MB of "JPEG", its length declared or not; the bytes
    the client took are added to ``camera.sent``."""

    def behave(conn: socket.socket, camera: FaultyCamera) -> None:
        length = f"Content-Length: {HUGE}\r\n" if declared else ""
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n{length}Connection: close\r\n\r\n"
        conn.sendall(head.encode())
        chunk = b"\xff\xd8" + bytes(CHUNK - 2)
        sent = 0
        try:
            while sent < HUGE and not camera.stopped.is_set():
                conn.sendall(chunk)
                sent += len(chunk)
        finally:
            camera.sent += sent

    return behave


class RssSampler:
    """The process's resident memory, sampled every 2 ms in a thread; ``peak`` since
    the last ``reset``."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def reset(self) -> int:
        self.peak = now = self.rss()
        return now

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssSampler:
        self.reset()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def bench_camera_memory(rounds: int, workdir: Path) -> list[str]:
    """Resident memory while checks get a 64 MB answer from the camera. Two checks of
    a camera answering 503 come first, so what any first check allocates once (HTTP
    client, threads, store) is not counted as the 64 MB answer's."""
    lines: list[str] = []
    mb = 1024 * 1024
    unavailable = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"
    with LocalBroker() as broker:
        for declared in (True, False):
            camera = FaultyCamera(flood(declared))
            warm = FaultyCamera(lambda conn, _: conn.sendall(unavailable))
            folder = workdir / ("declared" if declared else "streamed")
            cameras = {METER: camera.url, "warm": warm.url}
            service = build_service(plain_config(folder, broker, cameras), notifiers=[])
            await service.start()
            errors: set[str] = set()
            try:
                for _ in range(2):
                    await service.core.checks.check("warm", "bench")
                gc.collect()
                with RssSampler() as sampler:
                    baseline = sampler.reset()
                    for _ in range(rounds):
                        outcome = await service.core.checks.check(METER, "bench")
                        errors.add(outcome.reading.error or outcome.reading.status.value)
                    peak = sampler.peak
                    gc.collect()
                    after = sampler.rss()
            finally:
                await service.stop()
                camera.close()
                warm.close()
            how = "length declared" if declared else "length not declared, streamed"
            lines.append(
                f"64 MB camera answer ({how}), {rounds} checks: RSS {baseline / mb:.0f} MB "
                f"before, peak +{(peak - baseline) / mb:.1f} MB, after "
                f"{(after - baseline) / mb:+.1f} MB; sent by the camera before the client "
                f"hung up {camera.sent / mb:.0f} MB of {rounds * 2 * HUGE / mb:.0f} MB (a check "
                f"tries twice); checks ended {', '.join(sorted(errors))}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--part", action="append", choices=["hang", "queued", "camera"], help="only this part"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    lines: list[str] = []
    parts = {"hang": bench, "queued": bench_queued, "camera": bench_camera_memory}
    for name in args.part or list(parts):
        with tempfile.TemporaryDirectory(prefix=f"tokenmeter-bench-faults-{name}-") as tmp:
            lines += asyncio.run(parts[name](args.rounds, Path(tmp)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
