"""Tests for tokenmeter.commands.serve: how ``serve`` and ``demo`` fail for users, and
``serve`` as a process."""

from __future__ import annotations

import json
import signal
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.conftest import ServiceProcess, free_port, get_json, wait_for, write_config
from tokenmeter.cli import main
from tokenmeter.devices import broker as broker_module
from tokenmeter.domain import Meter, Reading, Schedule
from tokenmeter.store.sqlite import SqliteStore


def test_bad_config_exits_2_with_the_key(tmp_path: Path) -> None:
    """An unknown key is named and the exit code is 2, no traceback."""
    config = tmp_path / "bad.toml"
    config.write_text("[service]\nhealth_prot = 1\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "service.health_prot: kunci tidak dikenal" in result.output
    assert "Traceback" not in result.output


def test_no_mosquitto_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mqtt.url empty and no mosquitto on the machine: one line with the fix, exit 2."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    config = tmp_path / "tokenmeter.toml"
    config.write_text(
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n[service]\nhealth_port = 0\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["serve", "--lang", "en", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "mosquitto is not installed" in result.output
    assert "apt-get install mosquitto" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["serve", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "Kesalahan: Server MQTT tidak bisa dihubungi. (mosquitto belum terpasang." in (
        result.stderr
    )


def test_demo_without_mosquitto_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The demo needs the local broker too and says so the same way."""
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    result = CliRunner().invoke(
        main, ["demo", "--once", "--lang", "en", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 2, result.output
    assert "mosquitto is not installed" in result.output


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("id", "Kesalahan: Alamat 127.0.0.1:{port} untuk /healthz tidak bisa dipakai"),
        ("en", "Error: The address 127.0.0.1:{port} for /healthz cannot be used"),
    ],
)
def test_health_port_in_use_is_one_line(tmp_path: Path, lang: str, expected: str) -> None:
    """A /healthz port another program holds: one line in the run's language, exit 2."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(
            tmp_path / "tokenmeter.toml",
            f'[store]\nsqlite_path = "tm.db"\n[service]\nhealth_port = {port}\n',
        )
        result = CliRunner().invoke(main, ["serve", "--lang", lang, "--config", str(config)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if "INFO" not in line]
    assert lines[-1].startswith(expected.format(port=port)), result.stderr
    assert "health_port" in lines[-1]
    assert "Traceback" not in result.output


def _firebase_config(tmp_path: Path, credentials: str) -> Path:
    return write_config(
        tmp_path / "tokenmeter.toml",
        '[store]\nbackend = "firebase"\nfirebase_url = "https://tm-test.firebaseio.com"\n'
        f'firebase_credentials = "{credentials}"\nsqlite_path = "tm.db"\n'
        "[service]\nhealth_port = 0\n",
    )


@pytest.mark.parametrize(
    ("content", "lang", "expected"),
    [
        (None, "id", "Kesalahan: Berkas kredensial Firebase {path} tidak ada"),
        (None, "en", "Error: The Firebase credentials file {path} does not exist"),
        ('{"type": ', "id", "Kesalahan: Berkas kredensial Firebase {path} bukan JSON"),
        ('{"type": ', "en", "Error: The Firebase credentials file {path} is not valid JSON"),
        ('{"type": "user"}', "id", "Kesalahan: Berkas kredensial Firebase {path} bukan kunci"),
        (
            json.dumps({"type": "service_account", "project_id": "p"}),
            "en",
            "Error: The Firebase credentials file {path} is not a service-account key",
        ),
    ],
)
def test_firebase_credentials_mistakes_are_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    lang: str,
    expected: str,
) -> None:
    """A missing, malformed or wrong credentials file: one plain line, exit 2."""
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    credentials = tmp_path / "key.json"
    if content is not None:
        credentials.write_text(content, encoding="utf-8")
    config = _firebase_config(tmp_path, "key.json")
    result = CliRunner().invoke(main, ["serve", "--lang", lang, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1].startswith(expected.format(path=credentials))
    assert "Traceback" not in result.output


def test_no_google_credentials_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """backend = firebase with no credentials file and no Google default credentials."""
    for name in ("FIREBASE_DATABASE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server to ask
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("HOME", str(tmp_path))
    config = _firebase_config(tmp_path, "")
    for lang, expected in (
        ("id", "Kesalahan: Tidak ada kredensial Google untuk Firebase."),
        ("en", "Error: No Google credentials for Firebase."),
    ):
        result = CliRunner().invoke(main, ["serve", "--lang", lang, "--config", str(config)])
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[-1].startswith(expected), result.stderr
        assert "Traceback" not in result.output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_unreachable_broker_neither_blocks_nor_deafens(
    tmp_path: Path, signum: signal.Signals
) -> None:
    """A broker that is away: /healthz says so within seconds, "service ready" follows,
    and SIGINT or SIGTERM stops the service at once."""
    health_port = free_port()
    config = write_config(
        tmp_path / "tokenmeter.toml",
        f'[store]\nsqlite_path = "tm.db"\n[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'
        f'[service]\nhealth_port = {health_port}\n[[meters]]\nid = "rumah"\ncamera_url = "sim:"\n',
    )
    service = ServiceProcess(config, health_port).start()
    try:
        began = time.monotonic()

        def answered() -> bool:
            try:
                status, body = get_json(service.health_url)
            except (OSError, ValueError):
                return False
            return status == 503 and body["links"]["mqtt"]["connected"] is False

        assert wait_for(answered, 10), service.output()
        assert wait_for(lambda: "service ready" in service.output(), 5), service.output()
        assert time.monotonic() - began < 8, service.output()
        assert service.proc is not None
        service.proc.send_signal(signum)
        assert service.proc.wait(5) == 0, service.output()
        assert "Traceback" not in service.output()
    finally:
        service.kill()


def test_a_signal_during_start_up_stops_at_once(tmp_path: Path) -> None:
    """SIGINT while the service is still starting (the broker away) ends it within
    seconds, not after start-up."""
    health_port = free_port()
    config = write_config(
        tmp_path / "tokenmeter.toml",
        f'[store]\nsqlite_path = "tm.db"\n[mqtt]\nurl = "mqtt://127.0.0.1:{free_port()}"\n'
        f'[service]\nhealth_port = {health_port}\n[[meters]]\nid = "rumah"\ncamera_url = "sim:"\n',
    )
    service = ServiceProcess(config, health_port).start()
    try:
        assert wait_for(lambda: "health endpoint on" in service.output(), 10), service.output()
        assert service.proc is not None
        service.proc.send_signal(signal.SIGINT)
        began = time.monotonic()
        assert service.proc.wait(8) == 0, service.output()
        assert time.monotonic() - began < 5, service.output()
        assert "Traceback" not in service.output()
    finally:
        service.kill()


def _next_minute(now: datetime, lead_s: float = 10.0) -> datetime:
    """The next whole minute at least ``lead_s`` away (time for ``serve`` to start)."""
    slot = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return slot if (slot - now).total_seconds() >= lead_s else slot + timedelta(minutes=1)


@pytest.mark.slow
def test_grace_zero_still_runs_the_slot_on_time(tmp_path: Path) -> None:
    """`grace_minutes = 0` (no catch-up after downtime) still checks at the slot time."""
    slot = _next_minute(datetime.now(UTC))
    config = write_config(
        tmp_path / "tokenmeter.toml",
        f"""
[store]
sqlite_path = "tm.db"

[checks]
grace_minutes = 0

[service]
health_port = {free_port()}

[[meters]]
id = "rumah"
camera_url = "sim:"
timezone = "UTC"
schedule = ["{slot:%H:%M}"]
""",
    )
    service = ServiceProcess(config, 0).start()
    try:

        def scheduled() -> list[Reading]:
            store = SqliteStore(tmp_path / "tm.db")
            try:
                return [r for r in store.last_readings("rumah", 5) if r.source == "schedule"]
            finally:
                store.close()

        time.sleep(max(0.0, (slot - datetime.now(UTC)).total_seconds()))
        assert wait_for(lambda: len(scheduled()) == 1, 40), service.output()
        assert "past the grace period" not in service.output()
        assert service.terminate() == 0
    finally:
        service.kill()


@pytest.mark.slow
def test_meter_removed_from_the_config_is_not_scheduled(tmp_path: Path) -> None:
    """A meter still in the store but gone from the config gets no jobs and one warning
    line; after `schedule remove --meter` not even that."""
    store = SqliteStore(tmp_path / "tm.db")
    store.put_meter(Meter(id="gudang", name="Gudang", timezone="UTC", low_kwh=5.0))
    store.set_schedule("gudang", Schedule(("07:00", "19:00")))
    store.close()
    health_port = free_port()
    config = write_config(
        tmp_path / "tokenmeter.toml",
        f'[store]\nsqlite_path = "tm.db"\n\n[service]\nhealth_port = {health_port}\n\n'
        '[[meters]]\nid = "rumah"\ncamera_url = "sim:"\nschedule = ["06:00", "18:00"]\n',
    )
    service = ServiceProcess(config, health_port).start()
    try:
        body = service.wait_ready()
        assert body["links"]["scheduler"]["jobs"] == 2, service.output()
        assert service.terminate() == 0
        warnings = [line for line in service.output().splitlines() if "gudang" in line]
        assert len(warnings) == 1 and "WARNING" in warnings[0], service.output()
        assert "tokenmeter schedule remove --meter gudang" in warnings[0]

        removed = CliRunner().invoke(
            main, ["schedule", "remove", "--meter", "gudang", "--config", str(config)]
        )
        assert removed.exit_code == 0, removed.output
        service.start()
        service.wait_ready()
        assert service.terminate() == 0
        assert "gudang" not in service.output()
    finally:
        service.kill()


@pytest.mark.parametrize(
    ("blynk", "lang", "expected"),
    [
        (
            'transport = "mqtt"\n',
            "id",
            "Kesalahan: Konfigurasi tidak valid: blynk.auth_token: wajib diisi bila "
            "blynk.transport = 'mqtt' (atau set TOKENMETER_BLYNK_TOKEN)",
        ),
        (
            'transport = "legacy"\nauth_token = "abc"\ntoken_pin = "A1"\n',
            "id",
            "Kesalahan: Konfigurasi tidak valid: blynk: pin 'A1' bukan pin virtual: "
            "gunakan V0..V255",
        ),
        (
            'transport = "legacy"\nauth_token = "abc"\ntoken_pin = "A1"\n',
            "en",
            "Error: The configuration is invalid: blynk: pin 'A1': use V0..V255",
        ),
    ],
)
def test_blynk_mistakes_at_start_are_one_line_in_the_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, blynk: str, lang: str, expected: str
) -> None:
    """A Blynk door that cannot be built: its problem in the run's language only (no
    English detail after it), exit 2."""
    monkeypatch.delenv("TOKENMETER_BLYNK_TOKEN", raising=False)
    config = write_config(
        tmp_path / "config.toml",
        f'[store]\nsqlite_path = "tm.db"\n[service]\nhealth_port = 0\n[blynk]\n{blynk}',
    )
    result = CliRunner().invoke(main, ["serve", "--lang", lang, "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1] == expected
    assert "Traceback" not in result.output
