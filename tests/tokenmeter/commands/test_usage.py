"""Tests for tokenmeter.commands.usage: click's usage errors in the run's language,
one line, exit 2, through the ``tokenmeter`` command."""

from __future__ import annotations

import os
import pty
import select
import signal
from pathlib import Path

import pytest

from tests.e2e.conftest import tokenmeter_command
from tests.tokenmeter.commands.clikit import invoke
from tokenmeter import config as config_module


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory, no TOKENMETER_CONFIG and no system-wide file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOKENMETER_CONFIG", raising=False)
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG", tmp_path / "etc" / "config.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("args", "indonesian", "english"),
    [
        (
            ("history", "--nope"),
            "Kesalahan: opsi --nope tidak dikenal. Lihat 'tokenmeter history --help'.",
            "Error: no such option --nope. See 'tokenmeter history --help'.",
        ),
        (
            ("enrol", "--profile", "p"),
            "Kesalahan: argumen PHOTO belum diberikan. Lihat 'tokenmeter enrol --help'.",
            "Error: missing argument PHOTO. See 'tokenmeter enrol --help'.",
        ),
        (
            ("history", "--last", "abc"),
            "Kesalahan: nilai untuk --last tidak valid: harus bilangan bulat ≥ 1. "
            "Lihat 'tokenmeter history --help'.",
            "Error: invalid value for --last: must be a whole number ≥ 1. "
            "See 'tokenmeter history --help'.",
        ),
        (
            ("serve", "--log-level", "loud"),
            "Kesalahan: nilai untuk --log-level tidak valid: harus salah satu dari DEBUG, "
            "INFO, WARNING atau ERROR. Lihat 'tokenmeter serve --help'.",
            "Error: invalid value for --log-level: must be one of DEBUG, INFO, WARNING or "
            "ERROR. See 'tokenmeter serve --help'.",
        ),
        (
            ("meter", "add", "kamar-1"),
            "Kesalahan: opsi --camera-url wajib diberikan. Lihat 'tokenmeter meter add --help'.",
            "Error: missing option --camera-url. See 'tokenmeter meter add --help'.",
        ),
        (
            ("histori",),
            "Kesalahan: perintah histori tidak dikenal. Maksud Anda history? "
            "Lihat 'tokenmeter --help'.",
            "Error: no such command histori. Did you mean history? See 'tokenmeter --help'.",
        ),
        (
            ("history", "rumah"),
            "Kesalahan: argumen berlebih: rumah. Lihat 'tokenmeter history --help'.",
            "Error: unexpected extra arguments: rumah. See 'tokenmeter history --help'.",
        ),
        (
            ("export", "--from", "1/12/2026", "--to", "2026-12-31"),
            "Kesalahan: nilai untuk --from tidak valid: harus tanggal YYYY-MM-DD. "
            "Lihat 'tokenmeter export --help'.",
            "Error: invalid value for --from: must be a date YYYY-MM-DD. "
            "See 'tokenmeter export --help'.",
        ),
        (
            ("read", "--roi", "1,2", "photo.jpg"),
            "Kesalahan: nilai untuk --roi tidak valid: perlu 8 angka: x1,y1,x2,y2,x3,y3,x4,y4. "
            "Lihat 'tokenmeter read --help'.",
            "Error: invalid value for --roi: expected 8 numbers: x1,y1,x2,y2,x3,y3,x4,y4. "
            "See 'tokenmeter read --help'.",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_usage_errors_in_one_line_in_the_language(
    args: tuple[str, ...], indonesian: str, english: str
) -> None:
    """A usage error is one line in Indonesian by default, in English with --lang en
    (given before or after the mistake), exit 2; click's Usage/Try lines are gone."""
    assert invoke(*args) == (2, "", indonesian + "\n")
    assert invoke(*args, "--lang", "en") == (2, "", english + "\n")
    assert invoke(*args, "--lang=en")[2] == english + "\n"


def test_option_without_its_value() -> None:
    """An option at the end of the line without its value."""
    code, _, err = invoke("topup", "--meter")
    assert (code, err) == (
        2,
        "Kesalahan: opsi --meter perlu nilai. Lihat 'tokenmeter topup --help'.\n",
    )
    code, _, err = invoke("topup", "--lang", "en", "--meter")
    assert (code, err) == (
        2,
        "Error: option --meter needs a value. See 'tokenmeter topup --help'.\n",
    )


def test_usage_error_in_the_language_of_the_config(tmp_path: Path) -> None:
    """Without --lang, the language of the config the command would use: --config, or
    ./config.toml by the lookup."""
    english = tmp_path / "en.toml"
    english.write_text('[telegram]\nlanguage = "en"\n', encoding="utf-8")
    code, _, err = invoke("history", "--config", str(english), "--nope")
    assert (code, err) == (2, "Error: no such option --nope. See 'tokenmeter history --help'.\n")
    (tmp_path / "config.toml").write_text('[telegram]\nlanguage = "en"\n', encoding="utf-8")
    assert invoke("schedule", "set")[2].startswith("Error: missing argument ")
    assert invoke("schedule", "set", "--lang", "id")[2].startswith("Kesalahan: argumen ")


def test_help_and_bare_groups_are_not_errors() -> None:
    """--help still prints help (exit 0); a group without its subcommand shows its help."""
    code, out, _ = invoke("history", "--help")
    assert code == 0 and out.startswith("Usage: ") and " history [OPTIONS]" in out
    code, out, err = invoke("schedule")
    assert " schedule [OPTIONS] COMMAND" in out + err and "Kesalahan" not in out + err


def _on_a_terminal(args: list[str], cwd: Path, answer: bytes) -> tuple[str, int]:
    """``tokenmeter ARGS`` on a pseudo-terminal: ``answer`` typed once it asks for
    something; what the terminal showed and the exit code."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the command, as a user starts it
        os.chdir(cwd)
        command = tokenmeter_command()
        os.execv(command[0], [*command, *args])
    shown = b""
    answered = False
    while True:
        ready, _, _ = select.select([terminal], [], [], 30.0)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            break
        try:
            chunk = os.read(terminal, 1024)
        except OSError:  # the command ended: its side of the terminal closed
            break
        if not chunk:
            break
        shown += chunk
        if not answered and shown.rstrip().endswith(b":"):
            os.write(terminal, answer)
            answered = True
    _, status = os.waitpid(pid, 0)
    os.close(terminal)
    return shown.decode("utf-8", errors="replace").replace("\r\n", "\n"), os.waitstatus_to_exitcode(
        status
    )


@pytest.mark.parametrize(
    ("lang", "words"), [((), "Dibatalkan."), (("--lang", "en"), "Aborted.")], ids=["id", "en"]
)
def test_ctrl_c_at_the_token_prompt(tmp_path: Path, lang: tuple[str, ...], words: str) -> None:
    """Ctrl-C at `topup`'s token prompt ends it with one word in the run's language
    (not click's "Aborted!"), exit 1."""
    (tmp_path / "config.toml").write_text('[store]\nsqlite_path = "tm.db"\n', encoding="utf-8")
    shown, code = _on_a_terminal(["topup", "--meter", "rumah", *lang], tmp_path, b"\x03")
    assert code == 1, shown
    assert shown.splitlines()[-1] == words and "Aborted!" not in shown, shown
