"""Tests for tokenmeter check / topup / simulate through the click CLI."""

from __future__ import annotations

import functools
import json
import logging
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.conftest import tokenmeter_command
from tests.mqtt_watch import TopicWatcher
from tokenmeter.app import SimOptions, build_core
from tokenmeter.cli import main
from tokenmeter.commands import device_cmds
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import normalize_token

TOKEN = "1234 5678 9012 3456 7890"


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


def _config(
    tmp_path: Path,
    broker: LocalBroker,
    camera_url: str,
    extra: str = "",
    low_kwh: float = 10.0,
    prefix: str = "",
) -> Path:
    path = tmp_path / "tokenmeter.toml"
    path.write_text(
        f"""{extra}
[store]
sqlite_path = "{tmp_path / "tm.db"}"
photo_dir = "{tmp_path / "photos"}"

[mqtt]
url = "{broker.url}"
prefix = "{prefix or "cli" + tmp_path.name[-6:]}"

[checks]
camera_timeout_s = 1.0
camera_retries = 0

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "{camera_url}"
low_kwh = {low_kwh}
schedule = []
""",
        encoding="utf-8",
    )
    return path


def test_check_camera_error_exits_3_in_words(tmp_path: Path, broker: LocalBroker) -> None:
    """A camera nobody answers: exit 3 and a sentence, no number."""
    config = _config(tmp_path, broker, f"http://127.0.0.1:{_closed_port()}/capture")
    result = CliRunner().invoke(main, ["check", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 3
    assert "Kamera tidak bisa dihubungi" in result.output


def test_check_json(tmp_path: Path, broker: LocalBroker) -> None:
    """--json prints the outcome as one JSON object; kwh is null when nothing was read."""
    config = _config(tmp_path, broker, f"http://127.0.0.1:{_closed_port()}/capture")
    result = CliRunner().invoke(
        main, ["check", "--json", "--meter", "rumah", "--config", str(config)]
    )
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["status"] == "camera_error" and data["kwh"] is None and not data["verified"]


def test_check_unknown_meter_exits_2(tmp_path: Path, broker: LocalBroker) -> None:
    """A meter id not in the config is refused with exit 2."""
    config = _config(tmp_path, broker, "sim:")
    result = CliRunner().invoke(main, ["check", "--meter", "nope", "--config", str(config)])
    assert result.exit_code == 2 and "nope" in result.output


def test_topup_refused_exits_2_without_the_digits(tmp_path: Path, broker: LocalBroker) -> None:
    """19 digits: exit 2, the reason given, the digits never echoed."""
    config = _config(tmp_path, broker, "sim:")
    digits = "1234567890123456789"
    result = CliRunner().invoke(main, ["topup", digits, "--config", str(config)])
    assert result.exit_code == 2
    assert result.stderr == "Kesalahan: Token harus 20 digit, yang dikirim 19 digit.\n"
    english = CliRunner().invoke(main, ["topup", digits, "--lang", "en", "--config", str(config)])
    assert english.stderr == "Error: A token has 20 digits; this one has 19.\n"
    assert digits not in result.output + english.output


def test_topup_queued_exits_5(tmp_path: Path, broker: LocalBroker) -> None:
    """No keypad device online: the token is queued (exit 5), shown masked."""
    config = _config(tmp_path, broker, f"http://127.0.0.1:{_closed_port()}/capture")
    result = CliRunner().invoke(
        main, ["topup", TOKEN, "--json", "--config", str(config)], catch_exceptions=False
    )
    assert result.exit_code == 5
    data = json.loads(result.output)
    assert data["status"] == "QUEUED" and data["token"] == "****-****-****-****-7890"
    assert "12345678901234567890" not in result.output


@pytest.mark.parametrize("args", [["-"], []], ids=["dash", "no-argument"])
def test_topup_reads_the_token_from_standard_input(
    tmp_path: Path, broker: LocalBroker, args: list[str]
) -> None:
    """`topup -` and `topup` without a token read it from a pipe; the digits are not echoed."""
    config = _config(tmp_path, broker, "sim:")
    digits = "1234567890123456789"
    result = CliRunner().invoke(
        main, ["topup", *args, "--config", str(config)], input=f"{digits}\n"
    )
    assert result.exit_code == 2
    assert result.stderr == "Kesalahan: Token harus 20 digit, yang dikirim 19 digit.\n"
    assert digits not in result.output


def test_topup_prompts_for_the_token_without_echo_on_a_terminal(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal `topup --meter ID` asks for the token and does not echo what is typed."""
    monkeypatch.setattr(device_cmds, "_stdin_is_terminal", lambda: True)
    config = _config(tmp_path, broker, "sim:")
    digits = "1234567890123456789"
    result = CliRunner().invoke(
        main, ["topup", "--meter", "rumah", "--config", str(config)], input=f"{digits}\n"
    )
    assert result.exit_code == 2
    assert "Token (20 digit): " in result.output
    assert "yang dikirim 19 digit" in result.stderr
    assert digits not in result.output


def test_a_whole_topup_at_debug_never_logs_or_prints_the_digits(
    tmp_path: Path,
    broker: LocalBroker,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A token typed with dots, from standard input, at log level DEBUG: the 20 digits
    (in any grouping) are in no log record and no output; only the keypad command
    published to the device carries them."""
    fast = SimOptions(key_time_scale=0.05)
    monkeypatch.setattr(device_cmds, "build_core", functools.partial(build_core, sim=fast))
    prefix = "dbg" + tmp_path.name[-6:]
    config = _config(tmp_path, broker, "sim:", extra="[topup]\nsettle_s = 0.2\n", prefix=prefix)
    digits = "12345678901234567890"
    commands = TopicWatcher(broker, f"{prefix}/rumah/keypad/cmd")
    caplog.set_level(logging.DEBUG)
    try:
        result = CliRunner().invoke(
            main,
            ["--log-level", "DEBUG", "topup", "-", "--config", str(config)],
            input="1234.5678.9012.3456.7890\n",
        )
    finally:
        commands.stop()
    assert result.exit_code == 0, result.output
    assert commands.keys() == [digits], "the keypad command carries the digits"
    assert any(r.levelno == logging.DEBUG for r in caplog.records), "DEBUG was not on"
    leaked = [r.name for r in caplog.records if digits in normalize_token(r.getMessage())]
    assert leaked == []
    assert digits not in normalize_token(caplog.text)
    assert digits not in normalize_token(result.output)


def test_simulate_serves_a_camera(tmp_path: Path, broker: LocalBroker) -> None:
    """simulate starts the HTTP camera and the keypad device, then stops cleanly."""
    config = _config(tmp_path, broker, "sim:")
    result = CliRunner().invoke(
        main,
        ["simulate", "--meter", "kos", "--duration", "0.3", "--config", str(config)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith("Meter simulasi kos: kamera http://127.0.0.1:")
    assert lines[-1] == "Simulator berhenti."
    assert (tmp_path / "sim" / "kos.json").exists()
    english = CliRunner().invoke(
        main,
        [
            "simulate",
            "--meter",
            "kos",
            "--duration",
            "0.1",
            "--lang",
            "en",
            "--config",
            str(config),
        ],
    )
    assert english.output.startswith("Simulated meter kos: camera http://127.0.0.1:")
    assert english.output.endswith("Simulator stopped.\n")


def test_topup_shows_its_stages(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal the top-up says what it does while it runs: the balance before,
    the typing, the balance after, then the result (keys typed 20× faster here)."""
    fast = SimOptions(key_time_scale=0.05, clock_scale=1.0)
    monkeypatch.setattr(device_cmds, "build_core", functools.partial(build_core, sim=fast))
    config = _config(tmp_path, broker, "sim:", extra="[topup]\nsettle_s = 0.2\n")
    result = CliRunner().invoke(main, ["topup", TOKEN, "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "[Rumah] Token ****-****-****-****-7890 dicatat. Membaca saldo awal…"
    assert lines[1] == "[Rumah] Saldo awal 120,00 kWh."
    assert lines[2].startswith("[Rumah] Token ****-****-****-****-7890 sedang diketik")
    assert lines[3].startswith("[Rumah] Saldo sesudah ")
    assert lines[-1].startswith("[Rumah] Token ****-****-****-****-7890 berhasil: +")
    assert "12345678901234567890" not in result.output


def test_topup_refusal_under_json_is_a_json_object(tmp_path: Path, broker: LocalBroker) -> None:
    """A refused token with --json: one JSON object on stdout (exit 2), nothing typed."""
    config = _config(tmp_path, broker, "sim:")
    result = CliRunner().invoke(
        main, ["topup", "1234567890123456789", "--json", "--config", str(config)]
    )
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["status"] == "REFUSED" and data["error"] == "invalid_token"
    assert data["reason"] == "length" and data["meter"] is None
    assert data["message"] == "Token harus 20 digit, yang dikirim 19 digit."
    unknown = CliRunner().invoke(
        main, ["topup", TOKEN, "--json", "--meter", "nope", "--lang", "en", "--config", str(config)]
    )
    assert unknown.exit_code == 2
    assert json.loads(unknown.stdout)["message"] == "Meter nope is not known."


def test_check_says_below_threshold_and_where_the_photo_is(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """A balance under the meter's low_kwh is said to be below it; the photo is named."""
    config = _config(tmp_path, broker, "sim:", low_kwh=200.0)
    result = CliRunner().invoke(main, ["check", "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    assert first.startswith("[Rumah] Sisa token 120,00 kWh")
    assert first.endswith(" Di bawah batas 200,00 kWh.")
    assert second.startswith("Foto: ") and Path(second.removeprefix("Foto: ")).is_file()
    english = CliRunner().invoke(main, ["check", "--lang", "en", "--config", str(config)])
    assert "Below the threshold of 200.00 kWh." in english.stdout
    assert "\nPhoto: " in english.stdout


def test_unconfirmed_topup_says_where_its_photo_is(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token the meter refuses (already used on it, unknown to a new database): the
    balance does not rise, exit 4, and the result names the photo taken after."""
    fast = SimOptions(key_time_scale=0.05, error_display_s=0.1)
    monkeypatch.setattr(device_cmds, "build_core", functools.partial(build_core, sim=fast))
    config = _config(tmp_path, broker, "sim:", extra="[topup]\nsettle_s = 0.2\n")
    assert CliRunner().invoke(main, ["topup", TOKEN, "--config", str(config)]).exit_code == 0
    (tmp_path / "tm.db").unlink()
    _config(
        tmp_path,
        broker,
        "sim:",
        extra="[topup]\nsettle_s = 0.2\n",
        prefix="again" + tmp_path.name[-6:],
    )
    result = CliRunner().invoke(main, ["topup", TOKEN, "--config", str(config)])
    assert result.exit_code == 4, result.output
    *_, line, photo = result.stdout.splitlines()
    assert "sudah diketik, tetapi tambahan kWh belum terlihat" in line
    assert photo.startswith("Foto: ") and Path(photo.removeprefix("Foto: ")).is_file()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_simulate_in_the_background_stops_on_a_signal(
    tmp_path: Path, broker: LocalBroker, signum: signal.Signals
) -> None:
    """`tokenmeter simulate &` (SIGINT ignored, as a shell starts a background job)
    stops cleanly on SIGINT and on SIGTERM."""
    config = _config(tmp_path, broker, "sim:")
    process = subprocess.Popen(
        [*tokenmeter_command(), "simulate", "--meter", "kos", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Meter simulasi kos: kamera "), first
        process.stdout.readline()  # the keypad line: everything is running
        process.send_signal(signum)
        rest, _ = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0 and rest.endswith("Simulator berhenti.\n"), rest
