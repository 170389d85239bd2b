"""click's own usage errors told in the run's language: one line, exit 2 (and its
"Aborted!" after Ctrl-C at a prompt: "Dibatalkan.", exit 1).

click words a misspelt option, a missing argument or a bad value in English, over
three lines (usage, hint, error). ``TokenmeterGroup`` catches those errors where the
command line is parsed and tells them the way every other error of a run is told:
``Kesalahan: opsi --nope tidak dikenal. Lihat 'tokenmeter history --help'.``

The language is ``--lang`` (looked up in the raw arguments too, since a parse error
may come before the option is read), else ``[telegram] language`` of the config the
command would use, else Indonesian.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click

from tokenmeter.commands.common import LANG
from tokenmeter.config import find_config_file, load_config
from tokenmeter.errors import ConfigError
from tokenmeter.texts import Lang, format_number

EXIT_USAGE = 2
RAW_ARGS = "tokenmeter.raw_args"
"""``click.Context.meta`` key: the command line as given, for the language of an error."""

_WORDS: dict[str, dict[Lang, str]] = {
    "line": {
        "id": "Kesalahan: {sentence} Lihat '{command} --help'.",
        "en": "Error: {sentence} See '{command} --help'.",
    },
    "no_such_option": {"id": "opsi {name} tidak dikenal.", "en": "no such option {name}."},
    "no_such_command": {
        "id": "perintah {name} tidak dikenal.",
        "en": "no such command {name}.",
    },
    "did_you_mean": {"id": " Maksud Anda {names}?", "en": " Did you mean {names}?"},
    "missing_argument": {
        "id": "argumen {name} belum diberikan.",
        "en": "missing argument {name}.",
    },
    "missing_option": {"id": "opsi {name} wajib diberikan.", "en": "missing option {name}."},
    "needs_value": {"id": "opsi {name} perlu nilai.", "en": "option {name} needs a value."},
    "takes_no_value": {
        "id": "opsi {name} tidak menerima nilai.",
        "en": "option {name} takes no value.",
    },
    "extra_args": {
        "id": "argumen berlebih: {args}.",
        "en": "unexpected extra arguments: {args}.",
    },
    "bad_value": {
        "id": "nilai untuk {name} tidak valid: {reason}.",
        "en": "invalid value for {name}: {reason}.",
    },
    "other": {"id": "pemakaian salah: {message}", "en": "wrong usage: {message}"},
    "aborted": {"id": "Dibatalkan.", "en": "Aborted."},
    # why a value is refused, by the option's type
    "choice": {"id": "harus salah satu dari {choices}", "en": "must be one of {choices}"},
    "int": {"id": "harus bilangan bulat{range}", "en": "must be a whole number{range}"},
    "float": {"id": "harus angka{range}", "en": "must be a number{range}"},
    "range_both": {"id": " dari {min} sampai {max}", "en": " from {min} to {max}"},
    "range_min": {"id": " ≥ {min}", "en": " ≥ {min}"},
    "range_max": {"id": " ≤ {max}", "en": " ≤ {max}"},
    "date": {"id": "harus tanggal {formats}", "en": "must be a date {formats}"},
    "does not exist": {"id": "{value} tidak ada", "en": "{value} does not exist"},
    "is a directory": {
        "id": "{value} adalah folder, bukan berkas",
        "en": "{value} is a folder, not a file",
    },
    "is a file": {"id": "{value} adalah berkas, bukan folder", "en": "{value} is a file"},
    "is not writable": {"id": "{value} tidak bisa ditulis", "en": "{value} is not writable"},
    "is not readable": {"id": "{value} tidak bisa dibaca", "en": "{value} is not readable"},
    "or": {"id": "atau", "en": "or"},
}
_PATH_REASON = re.compile(
    r"'(?P<value>.*)' (?P<why>does not exist|is a directory|is a file|is not writable"
    r"|is not readable)"
)
_DATE_PARTS = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM", "%S": "SS"}
_DATE_WORDS = re.compile("|".join(_DATE_PARTS))
_EXTRA_ARGS = re.compile(r"unexpected extra arguments? \((?P<args>.*)\)")


class ToldUsageError(click.ClickException):
    """A usage error already worded for the user: shown as its one line, exit 2."""

    exit_code = EXIT_USAGE

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, file=file, err=file is None)


class ToldAbort(click.ClickException):
    """Ctrl-C or end of input at a prompt: "Dibatalkan." / "Aborted.", exit 1 (click's
    own "Aborted!" is English)."""

    exit_code = 1

    def __init__(self, message: str, *, new_line: bool) -> None:
        super().__init__(message)
        self.new_line = new_line

    def show(self, file: IO[Any] | None = None) -> None:
        if self.new_line:  # closes the terminal's ^C echo (a prompt has closed it)
            click.echo(file=file, err=file is None)
        click.echo(self.message, file=file, err=file is None)


class TokenmeterGroup(click.Group):
    """The ``tokenmeter`` group: usage errors of any command below it in one line."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        raw = list(args)
        try:
            ctx = super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise  # a bare group: click shows its help
        except click.UsageError as err:
            raise _told(err, {}, raw) from err
        ctx.meta[RAW_ARGS] = raw
        return ctx

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as err:
            raise _told(err, ctx.meta, ctx.meta.get(RAW_ARGS, []), self) from err
        except (click.Abort, KeyboardInterrupt, EOFError) as err:
            lang = usage_lang(ctx.meta, ctx.meta.get(RAW_ARGS, []))
            new_line = not isinstance(err, click.Abort)
            raise ToldAbort(_WORDS["aborted"][lang], new_line=new_line) from err


def _told(
    err: click.UsageError,
    meta: dict[str, Any],
    args: Sequence[str],
    group: click.Group | None = None,
) -> ToldUsageError:
    lang = usage_lang(meta, args)
    if err.ctx is not None:  # the program is named tokenmeter however it was started
        command = " ".join(["tokenmeter", *err.ctx.command_path.split()[1:]])
    else:  # an error of the option parser has no context: the command in the arguments
        command = _command_path(group, args)
    line = _WORDS["line"][lang].format(sentence=usage_sentence(err, lang), command=command)
    return ToldUsageError(line)


def _command_path(group: click.Group | None, args: Sequence[str]) -> str:
    """``tokenmeter`` and the (sub)commands named in ``args``."""
    path = ["tokenmeter"]
    command: click.Command | None = group
    for arg in args:
        if isinstance(command, click.Group) and arg in command.commands:
            command = command.commands[arg]
            path.append(arg)
    return " ".join(path)


def _option_value(args: Sequence[str], name: str) -> str | None:
    """The value given to option ``name`` in raw arguments (``--x V`` or ``--x=V``)."""
    for index, arg in enumerate(args):
        if arg == name and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1 :]
    return None


def usage_lang(meta: dict[str, Any], args: Sequence[str]) -> Lang:
    """``--lang`` (read or given), else the language of the config the command would
    use (``--config`` or the lookup), else Indonesian."""
    given = meta.get(LANG) or _option_value(args, "--lang")
    if given in ("id", "en"):
        return "en" if given == "en" else "id"
    option = _option_value(args, "--config")
    try:
        path = find_config_file(Path(option) if option else None)
        if path is not None:
            return load_config(path).telegram.language
    except (ConfigError, OSError, ValueError):
        pass
    return "id"


def _name(err: click.BadParameter | click.BadOptionUsage | click.NoSuchOption) -> str:
    """The option (its longest flag) or argument (its metavar) an error is about."""
    if isinstance(err, click.BadParameter):
        if isinstance(err.param_hint, str):
            return err.param_hint
        if err.param is not None:
            if isinstance(err.param, click.Option) and err.param.opts:
                return max(err.param.opts, key=len)
            return err.param.human_readable_name
        return ""
    return err.option_name


def _number(value: float | None, lang: Lang) -> str:
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return format_number(float(value), 2, lang)


def _range(kind: click.ParamType[Any], lang: Lang) -> str:
    low = getattr(kind, "min", None)
    high = getattr(kind, "max", None)
    if low is not None and high is not None:
        return _WORDS["range_both"][lang].format(min=_number(low, lang), max=_number(high, lang))
    if low is not None:
        return _WORDS["range_min"][lang].format(min=_number(low, lang))
    if high is not None:
        return _WORDS["range_max"][lang].format(max=_number(high, lang))
    return ""


def _listed(items: Sequence[str], lang: Lang) -> str:
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {_WORDS['or'][lang]} {items[-1]}"


def _reason(err: click.BadParameter, lang: Lang) -> str:
    """Why a value was refused, from the parameter's type; a message our own code
    raised (already in the run's language) as it is."""
    kind = err.param.type if err.param is not None else None
    if isinstance(kind, click.Choice):
        return _WORDS["choice"][lang].format(choices=_listed([str(c) for c in kind.choices], lang))
    if isinstance(kind, click.types.IntParamType):
        return _WORDS["int"][lang].format(range=_range(kind, lang))
    if isinstance(kind, click.types.FloatParamType):
        return _WORDS["float"][lang].format(range=_range(kind, lang))
    if isinstance(kind, click.DateTime):
        formats = [_DATE_WORDS.sub(lambda m: _DATE_PARTS[m[0]], form) for form in kind.formats]
        return _WORDS["date"][lang].format(formats=_listed(formats, lang))
    found = _PATH_REASON.search(err.message)
    if isinstance(kind, click.Path) and found:
        return _WORDS[found["why"]][lang].format(value=found["value"])
    return err.message.rstrip(".")


def usage_sentence(err: click.UsageError, lang: Lang) -> str:
    """One of click's usage errors as a sentence in ``lang``."""
    if isinstance(err, click.MissingParameter):
        is_argument = isinstance(err.param, click.Argument) or err.param_type == "argument"
        key = "missing_argument" if is_argument else "missing_option"
        return _WORDS[key][lang].format(name=_name(err))
    if isinstance(err, click.BadParameter):
        return _WORDS["bad_value"][lang].format(name=_name(err), reason=_reason(err, lang))
    if isinstance(err, click.NoSuchOption):
        sentence = _WORDS["no_such_option"][lang].format(name=err.option_name)
        return sentence + _did_you_mean(err.possibilities, lang)
    no_such_command = getattr(click.exceptions, "NoSuchCommand", None)
    if no_such_command is not None and isinstance(err, no_such_command):
        sentence = _WORDS["no_such_command"][lang].format(name=err.command_name)
        return sentence + _did_you_mean(err.possibilities, lang)
    if isinstance(err, click.BadOptionUsage):
        if "requires" in err.message:
            return _WORDS["needs_value"][lang].format(name=err.option_name)
        if "does not take a value" in err.message:
            return _WORDS["takes_no_value"][lang].format(name=err.option_name)
    extra = _EXTRA_ARGS.search(err.message)
    if extra:
        return _WORDS["extra_args"][lang].format(args=extra["args"])
    return _WORDS["other"][lang].format(message=err.message)


def _did_you_mean(possibilities: Sequence[str] | None, lang: Lang) -> str:
    if not possibilities:
        return ""
    return _WORDS["did_you_mean"][lang].format(names=_listed(list(possibilities), lang))
