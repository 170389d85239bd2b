"""``tokenmeter demo``: the whole system on one machine, with nothing to configure.

Two simulated meters (camera + keypad each), SQLite in a temporary directory, a
local mosquitto, console notifications. The demo checks both meters, types one
valid-looking token on the first and shows it confirmed, then keeps checking every
few seconds (an interval job on the service's own APScheduler) until Ctrl-C.
Simulated time runs ``CLOCK_SCALE`` times faster and keys are typed
``1 / KEY_TIME_SCALE`` times faster, so there is something to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import click

from tokenmeter.app import Core, SimOptions
from tokenmeter.config import Config
from tokenmeter.console import event_line
from tokenmeter.devices.broker import free_port
from tokenmeter.domain import ReadingStatus, TopUp, TopUpStatus, mask_token
from tokenmeter.events import CheckCompleted, DeviceChanged, Event, LowBalance, TopUpChanged
from tokenmeter.lifecycle import stop_on_signals
from tokenmeter.texts import Lang, format_number

CLOCK_SCALE = 360.0  # one simulated hour every 10 s
KEY_TIME_SCALE = 0.1  # a token is typed in about 1.2 s instead of 12 s
CHECK_EVERY_S = 10  # the demo's interval job
TOPUP_WAIT_S = 90.0
DEMO_METERS = (("rumah", "Rumah"), ("kos", "Kos Melati"))
DEMO_TOPUP_METER = DEMO_METERS[0]
"""The meter the demo tops up. A random token gives a random balance (130-330 kWh
after the top-up), so this meter's simulated display must read on all of them:
``tests/tokenmeter/test_demo.py`` checks that range."""
DEMO_BALANCES = (130.0, 330.0)
"""Balances the demo's top-up can end on: the simulated start plus 10-210 kWh."""

_SAY: dict[str, dict[Lang, str]] = {
    "title": {
        "id": "tokenmeter demo: 2 meter simulasi (kamera + keypad), broker lokal, SQLite.",
        "en": "tokenmeter demo: 2 simulated meters (camera + keypad), local broker, SQLite.",
    },
    "speed": {
        "id": "Waktu simulasi {clock:.0f}× lebih cepat, tombol diketik {keys:.0f}× lebih cepat.",
        "en": "Simulated time runs {clock:.0f}× faster, keys are typed {keys:.0f}× faster.",
    },
    "data": {"id": "Data: {dir}", "en": "Data: {dir}"},
    "ready": {
        "id": "Siap dalam {s} dtk. Status layanan (JSON): {url}",
        "en": "Ready in {s} s. Service status (JSON): {url}",
    },
    "checking": {"id": "Mengecek kedua meter…", "en": "Checking both meters…"},
    "topup": {
        "id": "Mengisi token {masked} ke {meter}…",
        "en": "Topping up {masked} on {meter}…",
    },
    "running": {
        "id": "Cek otomatis tiap {s} dtk. Ctrl-C untuk berhenti.",
        "en": "Checking every {s} s. Press Ctrl-C to stop.",
    },
    "ok": {"id": "Satu siklus selesai: berhasil.", "en": "One cycle done: success."},
    "failed": {"id": "Satu siklus selesai: GAGAL.", "en": "One cycle done: FAILED."},
    "bye": {"id": "Demo berhenti.", "en": "Demo stopped."},
    "next": {
        "id": "Coba di terminal lain selama demo berjalan (--data-dir menyimpan datanya):",
        "en": "Try in another terminal while the demo runs (--data-dir keeps its data):",
    },
    "next_history": {
        "id": "  tokenmeter history --meter {meter} --config {config}   # riwayat pembacaan",
        "en": "  tokenmeter history --meter {meter} --config {config}   # the readings",
    },
    "next_read": {
        "id": "  tokenmeter read {photos} --debug-dir out/   # apa yang dilihat pembaca",
        "en": "  tokenmeter read {photos} --debug-dir out/   # what the reader saw",
    },
    "next_chart": {
        "id": "  Grafik: /grafik di Telegram, dengan token bot di [telegram] token.",
        "en": "  Chart: /chart on Telegram, with a bot token in [telegram] token.",
    },
}


def write_demo_config(config: Config, path: Path) -> Path:
    """A config file for the demo's store, so other commands can look at its data."""
    store = config.store
    quoted = json.dumps  # a JSON string is a TOML basic string for paths and names
    meters = "".join(
        f"\n[[meters]]\nid = {quoted(meter.id)}\nname = {quoted(meter.name)}\nschedule = []\n"
        for meter in config.meters
    )
    path.write_text(
        f"[store]\nsqlite_path = {quoted(str(store.sqlite_path))}\n"
        f"photo_dir = {quoted(str(store.photo_dir))}\n"
        f"\n[telegram]\nlanguage = {quoted(config.telegram.language)}\n{meters}",
        encoding="utf-8",
    )
    return path


def say_what_next(printer: DemoPrinter, config: Config, config_file: Path) -> None:
    """Point at what to try next: the history, the photos through the reader, the chart."""
    meter_id = DEMO_TOPUP_METER[0]
    photos = config.store.photo_dir / meter_id / "*.jpg"
    lang = printer.lang
    printer.say(_SAY["next"][lang])
    printer.say(_SAY["next_history"][lang].format(meter=meter_id, config=config_file))
    printer.say(_SAY["next_read"][lang].format(photos=photos))
    printer.say(_SAY["next_chart"][lang])


def demo_token() -> str:
    """A random, valid-looking 20-digit STS token (under 2^66 − 1)."""
    return str(secrets.randbelow(6 * 10**19) + 10**19)


def demo_config(data_dir: Path, lang: Lang = "id", health_port: int | None = None) -> Config:
    """The demo's configuration: nothing outside the machine."""
    return Config.model_validate(
        {
            "store": {
                "sqlite_path": str(data_dir / "tokenmeter.db"),
                "photo_dir": str(data_dir / "photos"),
                "photos_keep": 20,
            },
            "telegram": {"language": lang},
            "checks": {"max_kwh_per_hour": 5.0 * CLOCK_SCALE, "camera_timeout_s": 5.0},
            "topup": {"settle_s": 0.5, "result_timeout_s": 30.0},
            "service": {
                "health_port": health_port if health_port is not None else free_port(),
                "instance_id": "demo",
            },
            "meters": [
                {"id": meter_id, "name": name, "camera_url": "sim:", "schedule": []}
                for meter_id, name in DEMO_METERS
            ],
        }
    )


@dataclass
class DemoPrinter:
    """A notifier that prints one short, timestamped line per event (colour on a TTY)."""

    lang: Lang = "id"
    stream: TextIO | None = None
    lines: list[str] = field(default_factory=list)

    async def notify(self, event: Event) -> None:
        if isinstance(event, DeviceChanged) and not event.long_offline:
            return  # the simulators coming and going is not news
        self.say(event_line(event, self.lang), _colour(event))

    def say(self, text: str, colour: str | None = None, bold: bool = False) -> None:
        self.lines.append(text)
        line = f"{time.strftime('%H:%M:%S')}  {text}"
        click.echo(click.style(line, fg=colour, bold=bold), file=self.stream or sys.stdout)


def _colour(event: Event) -> str | None:
    if isinstance(event, LowBalance):
        return "yellow"
    if isinstance(event, DeviceChanged):
        return "yellow"
    if isinstance(event, TopUpChanged):
        return {
            TopUpStatus.CONFIRMED: "green",
            TopUpStatus.UNCONFIRMED: "yellow",
            TopUpStatus.FAILED: "red",
            TopUpStatus.EXPIRED: "red",
        }.get(event.topup.status, "cyan")
    if isinstance(event, CheckCompleted):
        status = event.outcome.reading.status
        if status is ReadingStatus.OK:
            return "green"
        return "yellow" if status is ReadingStatus.UNVERIFIED else "red"
    return None


async def demo_cycle(core: Core, printer: DemoPrinter) -> bool:
    """Check both meters, then top up the first; True when all went well."""
    printer.say(_SAY["checking"][printer.lang], bold=True)
    outcomes = await asyncio.gather(*(core.checks.check(m, "demo") for m, _ in DEMO_METERS))
    readings_ok = all(o.reading.status is ReadingStatus.OK for o in outcomes)
    meter_id, name = DEMO_TOPUP_METER
    token = demo_token()
    printer.say(_SAY["topup"][printer.lang].format(masked=mask_token(token), meter=name), bold=True)
    topup: TopUp = await core.topups.start(meter_id, token, "demo")
    topup = await core.topups.wait(meter_id, topup.id, TOPUP_WAIT_S)
    return readings_ok and topup.status is TopUpStatus.CONFIRMED


async def run_demo(
    *,
    data_dir: Path | None = None,
    once: bool = False,
    lang: str = "id",
    stream: TextIO | None = None,
    stop: asyncio.Event | None = None,
    on_core: Callable[[Core], None] | None = None,
) -> int:
    """Run the demo; the exit code (0 ok, 1 when ``--once`` and the cycle failed).

    ``stop`` ends the endless mode (default: SIGINT/SIGTERM); ``on_core`` sees the
    core before it starts (tests use it)."""
    from tokenmeter.service import build_service

    language: Lang = "en" if lang == "en" else "id"
    printer = DemoPrinter(language, stream)
    temporary = data_dir is None
    directory = Path(tempfile.mkdtemp(prefix="tokenmeter-demo-")) if temporary else data_dir
    assert directory is not None
    directory.mkdir(parents=True, exist_ok=True)
    if stop is None:
        stop = stop_on_signals()
    say = _SAY
    printer.say(say["title"][language], bold=True)
    printer.say(say["speed"][language].format(clock=CLOCK_SCALE, keys=1 / KEY_TIME_SCALE))
    printer.say(say["data"][language].format(dir=directory))
    config = demo_config(directory, language)
    config_file = write_demo_config(config, directory / "config.toml")
    sim = SimOptions(
        clock_scale=CLOCK_SCALE,
        key_time_scale=KEY_TIME_SCALE,
        error_display_s=0.5,
        state_dir=directory / "sim",
    )
    service = build_service(config, sim=sim, notifiers=[printer])
    if on_core is not None:
        on_core(service.core)
    began = time.monotonic()
    try:
        await service.start()
        health = service.health
        url = f"http://{health.host}:{health.port}/healthz" if health else "-"
        ready_s = format_number(time.monotonic() - began, 1, language)
        printer.say(say["ready"][language].format(s=ready_s, url=url))
        ok = await demo_cycle(service.core, printer)
        if not once or not temporary:
            say_what_next(printer, config, config_file)
        if once:
            printer.say(say["ok" if ok else "failed"][language], "green" if ok else "red", True)
            return 0 if ok else 1
        service.scheduler.apscheduler.add_job(
            _check_all, "interval", seconds=CHECK_EVERY_S, args=(service.core,), id="demo-checks"
        )
        printer.say(say["running"][language].format(s=CHECK_EVERY_S))
        await stop.wait()
        return 0
    finally:
        await service.stop()
        printer.say(say["bye"][language])
        if temporary:
            with contextlib.suppress(OSError):
                shutil.rmtree(directory)


async def _check_all(core: Core) -> None:
    await asyncio.gather(*(core.checks.check(m, "demo") for m, _ in DEMO_METERS))
