"""``tokenmeter serve`` (the long-running service) and ``tokenmeter demo``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_USAGE,
    chosen_lang,
    chosen_log_level,
    cli_config,
    config_option,
    error_line,
    found_config_lang,
    lang_option,
    log_level_option,
)
from tokenmeter.config import Config
from tokenmeter.devices.broker import INSTALL_HINT
from tokenmeter.errors import BrokerUnavailable, TokenmeterError
from tokenmeter.lifecycle import stop_on_signals
from tokenmeter.logs import setup_logging
from tokenmeter.texts import Lang

log = logging.getLogger("tokenmeter.serve")

EXIT_INTERRUPTED = 130


async def serve(config: Config) -> int:
    """Run the service until SIGINT/SIGTERM; the exit code."""
    from tokenmeter.service import build_service

    stop = stop_on_signals()
    service = build_service(config)
    await service.run(stop)
    return EXIT_OK


def exit_with(code: int) -> None:
    raise SystemExit(code)


_NO_MOSQUITTO: dict[Lang, str] = {
    "id": "mosquitto belum terpasang. Pasang dengan 'sudo apt-get install mosquitto' "
    "(atau jalankan 'make setup'), atau isi [mqtt] url dengan broker yang sudah ada.",
    "en": INSTALL_HINT,
}


def run_quietly(work: Coroutine[Any, Any, int], lang: Lang = "id") -> int:
    """Run a coroutine; user errors become one line in ``lang`` and exit 2, never a
    traceback. The technical detail follows in brackets."""
    try:
        return asyncio.run(work)
    except TokenmeterError as err:
        log.debug("stopped on an error", exc_info=True)
        if isinstance(err, BrokerUnavailable) and err.detail == INSTALL_HINT:
            detail = _NO_MOSQUITTO[lang]
        else:
            detail = err.detail or err.code
        if err.code == "config_invalid" and err.params.get("problems"):
            click.echo(error_line(err, lang), err=True)  # the problems, already in lang
        else:
            click.echo(f"{error_line(err, lang)} ({detail})", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


@click.command("serve")
@config_option
@lang_option
@log_level_option(None, "Log level (default: [service] log_level).")
def serve_command(config_path: Path | None, log_level: str | None) -> None:
    """Run the service until Ctrl-C or SIGTERM.

    Scheduled checks, Telegram or console notifications, Blynk, the keypad and
    GET /healthz, on one loop. Exit 0 after a clean stop, 2 for a bad config or a
    start-up error.
    """
    config = cli_config(config_path, announce=True)
    setup_logging(chosen_log_level(log_level, config.service.log_level))
    exit_with(run_quietly(serve(config), chosen_lang(config)))


@click.command("demo")
@click.option("--once", is_flag=True, help="Run one cycle (readings + one top-up) and exit.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the demo's SQLite and simulator state here (default: a temporary dir).",
)
@lang_option
@log_level_option(None, "Log level (default: WARNING).")
def demo_command(once: bool, data_dir: Path | None, log_level: str | None) -> None:
    """Run a self-contained demo on two simulated meters.

    Both meters are read and one token is typed, then checks repeat every 10 s
    until Ctrl-C. Needs no config, account or hardware.
    """
    from tokenmeter.demo import run_demo

    lang = found_config_lang()
    setup_logging(chosen_log_level(log_level, "WARNING"))
    exit_with(run_quietly(run_demo(data_dir=data_dir, once=once, lang=lang), lang))


COMMANDS: list[click.Command] = [serve_command, demo_command]
