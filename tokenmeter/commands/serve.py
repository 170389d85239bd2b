"""``tokenmeter serve`` (the long-running service) and ``tokenmeter demo``."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_USAGE,
    chosen_log_level,
    cli_config,
    config_option,
    log_level_option,
)
from tokenmeter.config import Config
from tokenmeter.errors import BrokerUnavailable, TokenmeterError
from tokenmeter.logs import setup_logging

log = logging.getLogger("tokenmeter.serve")

EXIT_INTERRUPTED = 130


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT and SIGTERM set ``stop`` (the loop then shuts the service down)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            log.info("%s again: already stopping", signum.name)
            return
        log.info("%s received: stopping", signum.name)
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


async def serve(config: Config) -> int:
    """Run the service until SIGINT/SIGTERM; the exit code."""
    from tokenmeter.service import build_service

    stop = asyncio.Event()
    install_stop_signals(stop)
    service = build_service(config)
    await service.run(stop)
    return EXIT_OK


def exit_with(code: int) -> None:
    raise SystemExit(code)


def run_quietly(work: Coroutine[Any, Any, int]) -> int:
    """Run a coroutine; user errors become one line and exit 2, never a traceback."""
    try:
        return asyncio.run(work)
    except BrokerUnavailable as err:
        click.echo(f"Error: {err.detail or err}", err=True)
        return EXIT_USAGE
    except TokenmeterError as err:
        from tokenmeter.texts import error_sentence

        log.debug("stopped on an error", exc_info=True)
        click.echo(f"Error: {error_sentence(err, 'en')} ({err.detail or err.code})", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


@click.command("serve")
@config_option
@log_level_option(None, "Log level (default: [service] log_level).")
def serve_command(config_path: Path | None, log_level: str | None) -> None:
    """Run the service until Ctrl-C or SIGTERM.

    Scheduled checks, Telegram or console notifications, Blynk, the keypad and
    GET /healthz, on one loop. Exit 0 after a clean stop, 2 for a bad config or a
    start-up error.
    """
    config = cli_config(config_path, announce=True)
    setup_logging(chosen_log_level(log_level, config.service.log_level))
    exit_with(run_quietly(serve(config)))


@click.command("demo")
@click.option("--once", is_flag=True, help="Run one cycle (readings + one top-up) and exit.")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep the demo's SQLite and simulator state here (default: a temporary dir).",
)
@click.option(
    "--lang", type=click.Choice(["id", "en"]), default="id", show_default=True, help="Language."
)
@log_level_option(None, "Log level (default: WARNING).")
def demo_command(once: bool, data_dir: Path | None, lang: str, log_level: str | None) -> None:
    """Run a self-contained demo on two simulated meters.

    Both meters are read and one token is typed, then checks repeat every 10 s
    until Ctrl-C. Needs no config, account or hardware.
    """
    from tokenmeter.demo import run_demo

    setup_logging(chosen_log_level(log_level, "WARNING"))
    exit_with(run_quietly(run_demo(data_dir=data_dir, once=once, lang=lang)))


COMMANDS: list[click.Command] = [serve_command, demo_command]
