"""What every command shares: config loading and turning errors into exit codes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from tokenmeter.config import Config, load_config
from tokenmeter.errors import ConfigError, TokenmeterError
from tokenmeter.texts import error_sentence

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_USAGE = 2  # bad usage, bad config, refused input, errors
EXIT_UNREADABLE = 3
EXIT_UNCONFIRMED = 4
EXIT_QUEUED = 5

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar="TOKENMETER_CONFIG",
    help="TOML config file (default: embedded defaults).",
)


def cli_config(config_path: Path | None) -> Config:
    """Load the config for a command; a bad one ends the command with exit 2."""
    try:
        return load_config(config_path)
    except ConfigError as err:
        click.echo(f"Configuration error: {err.detail}", err=True)
        raise SystemExit(EXIT_USAGE) from err


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Map domain errors to one English line on stderr and exit code 2; no traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TokenmeterError as err:
            logging.getLogger("tokenmeter.cli").debug("command failed", exc_info=True)
            click.echo(f"Error: {error_sentence(err, 'en')}", err=True)
            raise SystemExit(EXIT_USAGE) from err

    return wrapper
