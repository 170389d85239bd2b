"""Top-up latency while the Telegram Bot API hangs (issue 27, finding 8).

The real service (``build_service``: core, Telegram door, Blynk door) on a local
mosquitto, the local Bot API server (tests/servers/telegram_api.py) and a simulated
meter. A token is written on Blynk's V0, as the app does; measured is the time from
that write to the keypad command on ``{p}/{meter}/keypad/cmd``, ``--rounds`` times
with the Bot API answering, then as many times with every Bot API request hanging.
Each top-up is followed to its end before the next.

    .venv/bin/python bench/faults.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])  # the repository, not bench/

from tests.bot.blynk.conftest import AUTH_TOKEN, BlynkCloudSide  # noqa: E402
from tests.mqtt_watch import TopicWatcher  # noqa: E402
from tests.servers.telegram_api import FakeBotApi  # noqa: E402
from tokenmeter.app import SimOptions  # noqa: E402
from tokenmeter.config import Config  # noqa: E402
from tokenmeter.devices.broker import LocalBroker  # noqa: E402
from tokenmeter.domain import FINAL_TOPUP_STATUSES  # noqa: E402
from tokenmeter.service import Service, build_service  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tokenmeter-bench-faults-") as tmp:
        lines = asyncio.run(bench(args.rounds, Path(tmp)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
