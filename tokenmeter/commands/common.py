"""What every command shares: config loading and turning errors into exit codes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from tokenmeter.config import Config, find_config_file, load_config
from tokenmeter.errors import ConfigError, TokenmeterError
from tokenmeter.texts import Lang, config_problems_text, error_sentence

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

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
    help="TOML config file. Default: $TOKENMETER_CONFIG, else ./config.toml, "
    "else /etc/tokenmeter/config.toml, else the embedded defaults.",
)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def log_level_option(default: str | None, help_text: str) -> Callable[[F], F]:
    """``--log-level LEVEL``, one of ``LOG_LEVELS`` in any case (passed on upper-case)."""
    return click.option(
        "--log-level",
        "log_level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default=default,
        show_default=default is not None,
        metavar="LEVEL",
        help=f"{help_text} DEBUG, INFO, WARNING or ERROR, in any case.",
    )


LANG = "tokenmeter.lang"
"""``click.Context.meta`` key: the language of ``--lang``, when given."""
CONFIG_LANG = "tokenmeter.config_lang"
"""``click.Context.meta`` key: ``[telegram] language`` of the config a command loaded."""


def _remember_lang(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[LANG] = value


def lang_option(func: F) -> F:
    """``--lang id|en``: the language of everything the command prints as text.

    Eager, so that even an error while loading the config is told in it.
    """
    option = click.option(
        "--lang",
        type=click.Choice(["id", "en"]),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_remember_lang,
        help="Language of the text output: id or en. Default: [telegram] language, else id.",
    )
    return option(func)


def chosen_lang(config: Config | None = None) -> Lang:
    """``--lang``, else the language of ``config`` (or of the config the command
    loaded), else Indonesian."""
    context = click.get_current_context(silent=True)
    meta = context.meta if context is not None else {}
    given = meta.get(LANG) or (config.telegram.language if config else meta.get(CONFIG_LANG))
    return "en" if given == "en" else "id"


def found_config_lang() -> Lang:
    """For commands without ``--config`` (``read``, ``demo``): ``--lang``, else the
    language of the config file the lookup finds, else Indonesian. A missing or bad
    file is no error here."""
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get(LANG):
        return chosen_lang()
    path = find_config_file(None)
    if path is None:
        return "id"
    try:
        return load_config(path).telegram.language
    except (ConfigError, OSError):
        return "id"


VERBOSE = "tokenmeter.verbose"
"""``click.Context.meta`` key: ``tokenmeter --verbose`` was given."""
LOG_LEVEL = "tokenmeter.log_level"
"""``click.Context.meta`` key: the level of ``tokenmeter --log-level``, when given."""


def chosen_log_level(own: str | None, fallback: str) -> str:
    """The command's own ``--log-level``, else ``tokenmeter --log-level``, else ``fallback``."""
    context = click.get_current_context(silent=True)
    given = context.meta.get(LOG_LEVEL) if context is not None else None
    return (own or given or fallback).upper()


_WORDS: dict[str, dict[Lang, str]] = {
    "config": {"id": "konfigurasi: {path}", "en": "config: {path}"},
    "defaults": {
        "id": "bawaan (tidak ada berkas konfigurasi)",
        "en": "embedded defaults (no config file)",
    },
    "sqlite": {"id": "basis data: {path}", "en": "database: {path}"},
    "firebase": {
        "id": "basis data: Firebase {url} (antrean luring: {path})",
        "en": "database: Firebase {url} (offline queue: {path})",
    },
    "config_error": {
        "id": "Kesalahan konfigurasi: {detail}",
        "en": "Configuration error: {detail}",
    },
    "error": {"id": "Kesalahan: {sentence}", "en": "Error: {sentence}"},
}


def error_line(err: TokenmeterError, lang: Lang) -> str:
    """``Kesalahan: <sentence>`` / ``Error: <sentence>`` for a domain error."""
    return _WORDS["error"][lang].format(sentence=error_sentence(err, lang))


def config_line(path: Path | None, lang: Lang = "id") -> str:
    """Which config a command uses: the file, or the embedded defaults."""
    where = str(path.absolute()) if path is not None else _WORDS["defaults"][lang]
    return _WORDS["config"][lang].format(path=where)


def source_line(path: Path | None, config: Config, lang: Lang | None = None) -> str:
    """One line naming the config and the database a command uses."""
    lang = lang or config.telegram.language
    store = config.store
    database = _WORDS[store.backend][lang].format(
        path=store.sqlite_path.absolute(), url=store.firebase_url
    )
    return f"{config_line(path, lang)}; {database}"


def _verbose() -> bool:
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.meta.get(VERBOSE))


def config_error_detail(err: ConfigError, lang: Lang) -> str:
    """A config error's problems in ``lang``, after the file they are in."""
    problems = err.params.get("problems")
    if not isinstance(problems, list) or not problems:
        return err.detail
    listing = config_problems_text(problems, lang)
    return f"{err.params['file']}: {listing}" if err.params.get("file") else listing


def cli_config(config_path: Path | None, *, announce: bool = False) -> Config:
    """Find and load the config for a command; a bad one ends the command with exit 2.

    With ``announce`` (or ``tokenmeter --verbose``) the config file and the database
    are named first, in one line on stderr.
    """
    announce = announce or _verbose()
    path = find_config_file(config_path)
    try:
        config = load_config(path)
    except ConfigError as err:
        lang = chosen_lang()
        if announce:
            click.echo(config_line(path, lang), err=True)
        click.echo(
            _WORDS["config_error"][lang].format(detail=config_error_detail(err, lang)), err=True
        )
        raise SystemExit(EXIT_USAGE) from err
    context = click.get_current_context(silent=True)
    if context is not None:
        context.meta[CONFIG_LANG] = config.telegram.language
    if announce:
        click.echo(source_line(path, config, chosen_lang(config)), err=True)
    return config


def user_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Map domain errors to one line on stderr, in the run's language, and exit code 2;
    no traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except TokenmeterError as err:
            logging.getLogger("tokenmeter.cli").debug("command failed", exc_info=True)
            click.echo(error_line(err, chosen_lang()), err=True)
            raise SystemExit(EXIT_USAGE) from err

    return wrapper
