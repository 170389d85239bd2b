"""Telegram bot benchmark: the real Application against the local Bot API server
(tests/servers/telegram_api.py), the real core behind it (SQLite, local mosquitto,
simulated camera and keypad).

1. ``/cektoken`` from one chat, ``--rounds`` times: the time from the simulated
   camera's snapshot being ready to the photo reaching the Bot API server
   (target: under 1 s), and the whole round trip from the update.
2. ``--chats`` chats sending ``/cektoken`` at the same moment, then ``/status``:
   all answered, how long the last one took, how many photos were taken.

    .venv/bin/python bench/telegram.py [--rounds 20] [--chats 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This file is named like the python-telegram-bot package: put the repository
# first on the path instead of bench/ so "import telegram" finds the library.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from bot.telegram import TelegramDeps, build_application, start_bot, stop_bot  # noqa: E402
from tests.servers.telegram_api import FakeBotApi  # noqa: E402
from tokenmeter.app import SimOptions, build_core  # noqa: E402
from tokenmeter.config import Config, TelegramConfig  # noqa: E402
from tokenmeter.devices.broker import LocalBroker  # noqa: E402

OWNER = 1001


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name}: median {statistics.median(ms):.0f} ms, p95 {percentile(ms, 0.95):.0f} ms, "
        f"max {max(ms):.0f} ms (n={len(ms)})"
    )


async def bench(rounds: int, chats: int, workdir: Path) -> list[str]:
    lines: list[str] = []
    crowd = list(range(2001, 2001 + chats))
    with LocalBroker() as broker, FakeBotApi() as api:
        config = Config.model_validate(
            {
                "store": {
                    "sqlite_path": str(workdir / "tokenmeter.db"),
                    "photo_dir": str(workdir / "photos"),
                },
                "mqtt": {"url": broker.url},
                "meters": [{"id": "rumah", "name": "Rumah", "camera_url": "sim:"}],
            }
        )
        core = build_core(config, sim=SimOptions(state_dir=workdir / "sim"))
        telegram = TelegramConfig.model_validate(
            {
                "token": api.token,
                "api_base_url": api.base_url,
                "allowed_chats": [OWNER, *crowd],
            }
        )
        deps = TelegramDeps(
            store=core.store,
            checker=core.checks,
            topups=core.topups,
            meters=[m.to_meter() for m in config.meters],
        )
        app = build_application(telegram, deps)
        photos_taken: list[float] = []
        async with core:
            core.sim_meters["rumah"].on_photo = lambda _text, _jpeg: photos_taken.append(
                time.monotonic()
            )
            await start_bot(app, poll_timeout=1)
            try:
                after_snapshot: list[float] = []
                round_trip: list[float] = []
                for _ in range(rounds):
                    before = len(api.calls_of("sendPhoto", OWNER))
                    sent = time.monotonic()
                    api.send_text(OWNER, "/cektoken")

                    def answered_photo(b: int = before) -> bool:
                        return len(api.calls_of("sendPhoto", OWNER)) > b

                    assert await api.until(answered_photo, 30)
                    answered = api.calls_of("sendPhoto", OWNER)[-1].at
                    after_snapshot.append(answered - photos_taken[-1])
                    round_trip.append(answered - sent)
                lines.append(
                    describe("/cektoken, snapshot ready -> photo at the API", after_snapshot)
                )
                lines.append(describe("/cektoken, update sent -> photo at the API", round_trip))
                caption = api.calls_of("sendPhoto", OWNER)[-1].text.replace("\n", " | ")
                lines.append(f"last caption: {caption}")

                for command, method in (("/cektoken", "sendPhoto"), ("/status", "sendMessage")):
                    await asyncio.sleep(2)  # let the rate limiter's bucket (30/s) drain
                    shots_before = len(photos_taken)
                    sent = time.monotonic()
                    api.send_many([(chat, command) for chat in crowd])

                    def all_answered(m: str = method) -> bool:
                        return all(api.calls_of(m, chat) for chat in crowd)

                    done = await api.until(all_answered, 60)
                    answers = [
                        calls[-1].at - sent
                        for chat in crowd
                        if (calls := [c for c in api.calls_of(method, chat) if c.ok])
                    ]
                    lines.append(
                        f"{chats} chats sending {command} at once: "
                        f"{'all' if done else 'NOT all'} answered; "
                        + describe("latency", answers).split(": ", 1)[1]
                        + f"; photos taken: {len(photos_taken) - shots_before}"
                    )
                    for chat in crowd:  # so /status is counted separately
                        api.calls = [c for c in api.calls if c.chat_id != chat]
            finally:
                await stop_bot(app)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--chats", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="tokenmeter-bench-telegram-") as tmp:
        lines = asyncio.run(bench(args.rounds, args.chats, Path(tmp)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
