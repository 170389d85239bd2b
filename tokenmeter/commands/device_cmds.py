"""``tokenmeter check``, ``tokenmeter topup`` and ``tokenmeter simulate``."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from tokenmeter.app import SimOptions, build_core, sim_state_dir
from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_QUEUED,
    EXIT_UNCONFIRMED,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_option,
    error_line,
    lang_option,
    user_errors,
)
from tokenmeter.commands.progress import TopUpStages
from tokenmeter.commands.topup_handoff import hand_off
from tokenmeter.config import Config
from tokenmeter.console import check_line, topup_line
from tokenmeter.domain import ReadingStatus, TopUp, TopUpStatus
from tokenmeter.errors import HandoffFailed, TokenmeterError
from tokenmeter.events import CheckOutcome
from tokenmeter.handoff import topup_wait_s
from tokenmeter.lifecycle import STOP_SIGNALS
from tokenmeter.texts import Lang, error_sentence, format_kwh

meter_option = click.option(
    "--meter", "meter_id", default=None, help="Meter id (default: the first configured)."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")

_WORDS: dict[str, dict[Lang, str]] = {
    "sim_camera": {
        "id": "Meter simulasi {meter}: kamera {url}",
        "en": "Simulated meter {meter}: camera {url}",
    },
    "sim_keypad": {
        "id": "Keypad di {url} (prefiks {prefix}); Ctrl-C untuk berhenti.",
        "en": "Keypad on {url} (prefix {prefix}); Ctrl-C stops.",
    },
    "sim_stopped": {"id": "Simulator berhenti.", "en": "Simulator stopped."},
    "low": {"id": " Di bawah batas {limit} kWh.", "en": " Below the threshold of {limit} kWh."},
    "photo": {"id": "Foto: {path}", "en": "Photo: {path}"},
    "token_prompt": {"id": "Token (20 digit)", "en": "Token (20 digits)"},
}
STDIN_TOKEN = "-"


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_token(given: str | None, lang: Lang) -> str:
    """The token from the argument, else (none, or ``-``) from standard input: a
    prompt without echo on a terminal, the first line of a pipe or file otherwise.
    Kept off the command line, it is not in the shell's history nor in ``ps``."""
    if given is not None and given != STDIN_TOKEN:
        return given
    if _stdin_is_terminal():
        entered: str = click.prompt(
            _WORDS["token_prompt"][lang], hide_input=True, err=True, show_default=False
        )
        return entered
    return sys.stdin.readline().strip()


def check_text(outcome: CheckOutcome, lang: Lang) -> str:
    """The check's line, the low-balance threshold when under it, and the photo."""
    text = check_line(outcome, lang)
    if outcome.low:
        text += _WORDS["low"][lang].format(limit=format_kwh(outcome.meter.low_kwh, lang))
    if outcome.reading.photo:
        text += "\n" + _WORDS["photo"][lang].format(path=outcome.reading.photo)
    return text


def topup_text(name: str, topup: TopUp, lang: Lang) -> str:
    """The top-up's result line; an unconfirmed one says where its photo is."""
    text = topup_line(name, topup, lang)
    if topup.photo and topup.status is TopUpStatus.UNCONFIRMED:
        text += "\n" + _WORDS["photo"][lang].format(path=topup.photo)
    return text


def outcome_json(outcome: CheckOutcome) -> dict[str, Any]:
    """A check outcome for scripts; ``kwh`` only when a value was read."""
    reading = outcome.reading
    return {
        "meter": outcome.meter.id,
        "ts": reading.ts.isoformat(),
        "status": reading.status.value,
        "kwh": reading.kwh,
        "verified": reading.status is ReadingStatus.OK,
        "text": reading.text,
        "confidence": round(reading.confidence, 3),
        "error": reading.error,
        "photo": reading.photo,
        "change_kwh": outcome.change_kwh,
        "kwh_per_day": outcome.kwh_per_day,
        "days_left": outcome.days_left,
        "low": outcome.low,
    }


def topup_json(topup: TopUp) -> dict[str, Any]:
    """A top-up for scripts; the token appears masked only."""
    return {
        "id": topup.id,
        "meter": topup.meter_id,
        "token": topup.masked,
        "status": topup.status.value,
        "before": topup.before,
        "after": topup.after,
        "credit": topup.credit,
        "error": topup.error,
        "photo": topup.photo,
    }


async def _check(config: Config, meter_id: str | None) -> CheckOutcome:
    meter = config.meter(meter_id)
    async with build_core(config) as core:
        return await core.checks.check(meter.id, "cli")


@click.command("check")
@meter_option
@json_option
@config_option
@lang_option
@user_errors
def check_command(meter_id: str | None, as_json: bool, config_path: Path | None) -> None:
    """Photograph and read a meter now.

    Exit 0 when read, 3 when it could not be read, 2 for a bad meter or config.
    """
    config = cli_config(config_path)
    outcome = asyncio.run(_check(config, meter_id))
    if as_json:
        click.echo(json.dumps(outcome_json(outcome)))
    else:
        click.echo(check_text(outcome, chosen_lang(config)))
    failed = outcome.reading.status in (ReadingStatus.UNREADABLE, ReadingStatus.CAMERA_ERROR)
    raise SystemExit(EXIT_UNREADABLE if failed else EXIT_OK)


async def _topup(
    config: Config, meter_id: str | None, token: str, lang: Lang, stages: TopUpStages | None
) -> TopUp:
    """The top-up, handed to the running service when one answers (it owns the keypad
    and Telegram), else done here with a core of its own."""
    meter = config.meter(meter_id)
    say = stages.say if stages is not None else None
    handed = await hand_off(config, meter.id, token, lang, say)
    if handed is not None:
        return handed
    async with build_core(config) as core:
        await core.topups.check_token(meter.id, token)  # refused before anything starts
        if stages is not None:
            core.bus.subscribe(stages)
        started = await core.topups.start(meter.id, token, "cli")
        return await core.topups.wait(meter.id, started.id, topup_wait_s(config))


def refusal_json(err: TokenmeterError, meter_id: str | None, lang: Lang) -> dict[str, Any]:
    """A refused top-up for scripts: nothing was typed; ``error`` is the stable code."""
    reason = getattr(err, "reason", "")
    return {
        "meter": meter_id,
        "status": "REFUSED",
        "error": err.code,
        "reason": reason if isinstance(reason, str) else "",
        "message": error_sentence(err, lang),
    }


_TOPUP_EXIT = {
    TopUpStatus.CONFIRMED: EXIT_OK,
    TopUpStatus.QUEUED: EXIT_QUEUED,
}


@click.command("topup")
@click.argument("token", required=False, default=None)
@meter_option
@json_option
@config_option
@lang_option
@user_errors
def topup_command(
    token: str | None, meter_id: str | None, as_json: bool, config_path: Path | None
) -> None:
    """Type a 20-digit token on the meter and confirm it.

    The credit is confirmed by reading the balance before and after. When
    'tokenmeter serve' runs on the same data, the top-up is handed to it (it
    announces it on Telegram and keeps it if the keypad is offline) and its
    progress is shown here.

    TOKEN omitted or "-": read from standard input (a prompt without echo on a
    terminal), so it stays out of the shell history and the process list.

    Exit 0 confirmed, 4 typed but not confirmed (or the service stopped
    answering), 5 queued (keypad offline), 2 refused (nothing typed).
    """
    config = cli_config(config_path)
    lang = chosen_lang(config)
    token = read_token(token, lang)
    stages = None
    if not as_json:
        meter = config.meter(meter_id)
        stages = TopUpStages(meter.id, lang, click.echo)
    try:
        topup = asyncio.run(_topup(config, meter_id, token, lang, stages))
    except TokenmeterError as err:
        lost = isinstance(err, HandoffFailed) and err.reason == "lost"
        if not as_json and not lost:
            raise  # one line on stderr (user_errors)
        if as_json:
            refusal = refusal_json(err, meter_id, lang)
            click.echo(
                json.dumps(refusal | ({"status": "UNKNOWN"} if lost else {}), ensure_ascii=False)
            )
        else:
            click.echo(error_line(err, lang), err=True)
        raise SystemExit(EXIT_UNCONFIRMED if lost else EXIT_USAGE) from err
    if as_json:
        click.echo(json.dumps(topup_json(topup)))
    else:
        name = config.meter(topup.meter_id).to_meter().name
        click.echo(topup_text(name, topup, lang))
    raise SystemExit(_TOPUP_EXIT.get(topup.status, EXIT_UNCONFIRMED))


@click.command("simulate")
@click.option("--meter", "meter_id", required=True, help="Meter id (topics and state file).")
@click.option("--port", default=0, type=int, show_default=True, help="HTTP port; 0 = free.")
@click.option("--duration", default=0.0, type=float, hidden=True, help="Stop after S seconds.")
@config_option
@lang_option
@user_errors
def simulate_command(meter_id: str, port: int, duration: float, config_path: Path | None) -> None:
    """Run a simulated meter: HTTP camera and MQTT keypad."""
    from tokenmeter.devices.broker import LocalBroker
    from tokenmeter.sim.camera_server import SimulatedCameraServer
    from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
    from tokenmeter.sim.meter import SimulatedMeter

    config = cli_config(config_path)
    state = sim_state_dir(config, SimOptions()) / f"{meter_id}.json"
    meter = SimulatedMeter(meter_id, state_path=state)
    broker = None if config.mqtt.url else LocalBroker().start()
    broker_url = config.mqtt.url or (broker.url if broker else "")
    camera = SimulatedCameraServer(meter, port).start()
    device = SimulatedKeypadDevice(
        meter,
        broker_url,
        prefix=config.mqtt.prefix,
        username=config.mqtt.username,
        password=config.mqtt.password.get_secret_value(),
        ca_file=config.mqtt.ca_file,
    )
    device.start()
    lang = chosen_lang(config)
    stop = threading.Event()
    # SIGINT and SIGTERM end the wait, so the broker and the state are closed below;
    # SIGINT is set here too because a shell starts a background job ignoring it.
    # Set before the lines below, which tell a caller that a signal is now heard.
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())
    click.echo(_WORDS["sim_camera"][lang].format(meter=meter_id, url=camera.url))
    click.echo(_WORDS["sim_keypad"][lang].format(url=broker_url, prefix=config.mqtt.prefix))
    try:
        stop.wait(duration if duration > 0 else None)
    except KeyboardInterrupt:
        pass
    finally:
        device.stop()
        camera.stop()
        meter.save()
        if broker is not None:
            broker.close()
    click.echo(_WORDS["sim_stopped"][lang])


COMMANDS: list[click.Command] = [check_command, topup_command, simulate_command]
