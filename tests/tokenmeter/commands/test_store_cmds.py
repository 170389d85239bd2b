"""The config, schedule and history commands, through the real CLI and SQLite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.tokenmeter.commands.clikit import invoke, sqlite_config
from tests.tokenmeter.store.contract import make_reading
from tokenmeter.config import load_config
from tokenmeter.domain import Meter, ReadingStatus, Schedule
from tokenmeter.store.sqlite import SqliteStore


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return sqlite_config(
        tmp_path,
        """
[[meters]]
id = "rumah"
schedule = ["06:00", "18:00"]

[[meters]]
id = "kos-1"
timezone = "Asia/Makassar"
schedule = ["07:00"]
""",
    )


def stored_schedule(config_file: Path, meter_id: str) -> Schedule | None:
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    try:
        return store.get_schedule(meter_id)
    finally:
        store.close()


def test_config_check_ok(config_file: Path) -> None:
    """A valid file prints OK and exits 0; stderr names the file checked."""
    assert invoke("config", "check", "--config", str(config_file)) == (
        0,
        "OK\n",
        f"konfigurasi: {config_file}; basis data: {config_file.parent / 'tokenmeter.db'}\n",
    )


def test_config_check_lists_problems_with_paths(tmp_path: Path) -> None:
    """Each problem is printed with its key path, exit 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[store]\nbackend = "mysql"\ncolour = 1\n\n[[meters]]\nid = "a"\ntimezone = "Mars/Base"\n'
        'schedule = ["25:00"]\n',
        encoding="utf-8",
    )
    code, out, _ = invoke("config", "check", "--config", str(bad), "--lang", "en")
    assert code == 2
    assert "store.backend:" in out
    assert "store.colour: unknown key" in out
    assert "meters.0.timezone:" in out and "Mars/Base" in out
    assert "meters.0.schedule:" in out and "25:00" in out


def test_config_check_missing_file(tmp_path: Path) -> None:
    """A missing file is a problem too."""
    code, out, _ = invoke("config", "check", "--config", str(tmp_path / "nope.toml"))
    assert (code, out) == (2, "berkas tidak ditemukan\n")
    code, out, _ = invoke(
        "config", "check", "--config", str(tmp_path / "nope.toml"), "--lang", "en"
    )
    assert (code, out) == (2, "file not found\n")


def test_schedule_show_seeded_from_config(config_file: Path) -> None:
    """The config schedule seeds an empty store; show prints it."""
    assert invoke("schedule", "show", "--config", str(config_file)) == (
        0,
        "rumah: 06:00, 18:00\n",
        "",
    )
    code, out, _ = invoke(
        "schedule", "show", "--meter", "kos-1", "--json", "--config", str(config_file)
    )
    assert code == 0
    assert json.loads(out) == {
        "meter": "kos-1",
        "times": ["07:00"],
        "enabled": True,
        "stored": True,
    }


def test_schedule_set_then_show(config_file: Path) -> None:
    """A new schedule is stored, normalised, and wins over the config seed."""
    code, out, _ = invoke(
        "schedule",
        "set",
        "18:30",
        "6:00",
        "--meter",
        "rumah",
        "--json",
        "--config",
        str(config_file),
    )
    assert code == 0
    assert json.loads(out)["times"] == ["06:00", "18:30"]
    assert invoke("schedule", "show", "--config", str(config_file))[1] == "rumah: 06:00, 18:30\n"
    assert stored_schedule(config_file, "rumah") == Schedule(("06:00", "18:30"))


@pytest.mark.parametrize("bad", ["25:00", "6pm", "12:60", "noon"])
def test_schedule_set_refuses_bad_times(config_file: Path, bad: str) -> None:
    """A bad time is refused with a clear message and nothing is written."""
    invoke("schedule", "show", "--config", str(config_file))  # seed 06:00, 18:00
    code, out, err = invoke(
        "schedule", "set", "07:00", bad, "--lang", "en", "--config", str(config_file)
    )
    assert code == 2
    assert out == ""
    assert f"{bad} is not a valid time" in err and "HH:MM" in err
    assert "Traceback" not in err
    assert stored_schedule(config_file, "rumah") == Schedule(("06:00", "18:00"))


def test_unknown_meter_is_refused(config_file: Path) -> None:
    """An unknown meter id gives one plain line and exit 2."""
    code, _, err = invoke(
        "schedule", "set", "07:00", "--meter", "gudang", "--config", str(config_file)
    )
    assert (code, err) == (2, "Kesalahan: Meter gudang tidak dikenal.\n")


def test_history_last_n(config_file: Path) -> None:
    """History prints the last N readings oldest first, in the meter's timezone."""
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    for minute in range(5):
        store.add_reading(make_reading("kos-1", minute, kwh=50 - minute))
    store.add_reading(
        make_reading(
            "kos-1", 9, kwh=None, status=ReadingStatus.CAMERA_ERROR, error="camera_unavailable"
        )
    )
    store.close()
    code, out, _ = invoke(
        "history", "--meter", "kos-1", "--last", "3", "--lang", "en", "--config", str(config_file)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "kos-1 (Asia/Makassar):"
    assert lines[1].startswith("2026-11-20 14:03") and "47.00 kWh" in lines[1]
    assert "camera error" in lines[3] and "not reached" in lines[3]
    code, out, _ = invoke(
        "history", "--meter", "kos-1", "--last", "2", "--json", "--config", str(config_file)
    )
    data = json.loads(out)
    assert [item["kwh"] for item in data] == [46.0, None]
    assert data[0]["ts"] == "2026-11-20T06:04:00.000000Z"


def test_history_in_indonesian_by_default(config_file: Path) -> None:
    """Without --lang: Indonesian words and numbers (1.234,50 kWh); JSON stays numeric."""
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    store.add_reading(make_reading("rumah", 0, kwh=1234.5))
    store.add_reading(make_reading("rumah", 1, kwh=None, status=ReadingStatus.UNREADABLE))
    store.close()
    code, out, _ = invoke("history", "--config", str(config_file))
    assert code == 0
    first, second = out.splitlines()[1:]
    assert "1.234,50 kWh" in first and "terbaca" in first
    assert "tak terbaca" in second
    assert not [word for word in ("unreadable", "ok ", "1,234.50") if word in out]
    code, out, _ = invoke("history", "--json", "--config", str(config_file))
    assert json.loads(out)[0]["kwh"] == 1234.5


def test_schedule_show_in_both_languages(config_file: Path) -> None:
    """`schedule show` of a meter without a stored schedule says so in the language."""
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    store.put_meter(Meter(id="gudang", name="Gudang", timezone="UTC", low_kwh=5.0))
    store.close()
    shown = invoke("schedule", "show", "--meter", "gudang", "--config", str(config_file))
    assert shown == (0, "gudang: belum ada jadwal tersimpan\n", "")
    shown = invoke(
        "schedule", "show", "--meter", "gudang", "--lang", "en", "--config", str(config_file)
    )
    assert shown == (0, "gudang: no schedule stored\n", "")


def test_history_empty(config_file: Path) -> None:
    """A meter without readings says so."""
    assert invoke("history", "--config", str(config_file)) == (
        0,
        "rumah: belum ada pembacaan\n",
        "",
    )
    assert invoke("history", "--lang", "en", "--config", str(config_file)) == (
        0,
        "rumah: no readings yet\n",
        "",
    )


def test_schedule_remove_of_a_meter_gone_from_the_config(config_file: Path) -> None:
    """`schedule remove --meter` empties the stored times of a meter that is only in the
    store any more; `schedule show` still shows it."""
    store = SqliteStore(load_config(config_file).store.sqlite_path)
    store.put_meter(Meter(id="gudang", name="Gudang"))
    store.set_schedule("gudang", Schedule(("07:00",)))
    store.close()
    code, out, _ = invoke("schedule", "remove", "--meter", "gudang", "--config", str(config_file))
    assert (code, out) == (0, "gudang: jadwal dihapus, tidak ada pemeriksaan terjadwal\n")
    assert stored_schedule(config_file, "gudang") == Schedule(())
    assert invoke("schedule", "show", "--meter", "gudang", "--config", str(config_file))[:2] == (
        0,
        "gudang: tanpa jam\n",
    )


def test_schedule_remove_needs_a_known_meter(config_file: Path) -> None:
    """`schedule remove` names its meter; one neither configured nor stored is refused."""
    code, _, err = invoke("schedule", "remove", "--config", str(config_file))
    assert code == 2 and "--meter" in err
    code, _, err = invoke("schedule", "remove", "--meter", "nope", "--config", str(config_file))
    assert code == 2 and "nope" in err and "Traceback" not in err


def test_schedule_set_after_remove_checks_again(config_file: Path) -> None:
    """A configured meter's schedule removed and set again is active."""
    invoke("schedule", "remove", "--meter", "rumah", "--config", str(config_file))
    assert stored_schedule(config_file, "rumah") == Schedule(())
    invoke("schedule", "set", "09:00", "--config", str(config_file))
    assert stored_schedule(config_file, "rumah") == Schedule(("09:00",))


def _check(tmp_path: Path, body: str, lang: str = "en") -> tuple[int, str]:
    """``config check --lang LANG`` on a file with ``body`` (a SQLite store in ``tmp_path``)."""
    path = tmp_path / "check.toml"
    path.write_text(f'[store]\nsqlite_path = "tm.db"\n{body}', encoding="utf-8")
    code, out, _ = invoke("config", "check", "--config", str(path), "--lang", lang)
    return code, out


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('[[meters]]\nid = "a"\ncamera_url = "192.168.1.20/capture"\n', "meters.0.camera_url"),
        ('[[meters]]\nid = "a"\ncamera_url = "ftp://cam/capture"\n', "meters.0.camera_url"),
        ('[[meters]]\nid = "a"\ncamera_url = "http:///capture"\n', "meters.0.camera_url"),
        ('[mqtt]\nurl = "http://broker:1883"\n', "mqtt.url"),
        ('[mqtt]\nurl = "broker.local"\n', "mqtt.url"),
    ],
)
def test_config_check_refuses_url_schemes(tmp_path: Path, body: str, key: str) -> None:
    """A camera URL that is not http(s) or sim:, a broker URL that is not mqtt(s): the key."""
    code, out = _check(tmp_path, body)
    assert code == 2
    assert out.startswith(f"{key}: "), out


@pytest.mark.parametrize(
    "body",
    [
        '[[meters]]\nid = "a"\ncamera_url = "http://192.168.1.20/capture"\n'
        '[[meters]]\nid = "b"\ncamera_url = "sim:a"\n',
        '[mqtt]\nurl = "mqtts://broker.example:8883"\n',
        '[mqtt]\nurl = "mqtt://127.0.0.1:1883"\n',
    ],
)
def test_config_check_accepts_good_urls(tmp_path: Path, body: str) -> None:
    """http(s) and sim: cameras, mqtt(s) brokers pass."""
    assert _check(tmp_path, body) == (0, "OK\n")


FIREBASE = '\nbackend = "firebase"\nfirebase_url = "https://tm-test.firebaseio.com"\n'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file or not readable"),
        ("{not json", "not JSON"),
        ('{"type": "user"}', "not a service-account key (no type = service_account)"),
        (
            json.dumps({"type": "service_account", "project_id": "p", "private_key": "k"}),
            "not a service-account key (no client_email)",
        ),
    ],
)
def test_config_check_firebase_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None, message: str
) -> None:
    """backend = firebase: the credentials file must exist and be a service-account key."""
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content, encoding="utf-8")
    code, out = _check(tmp_path, f'{FIREBASE}firebase_credentials = "key.json"\n')
    assert code == 2
    assert out.startswith(f"store.firebase_credentials: {key}: {message}"), out


def test_config_check_firebase_credentials_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GOOGLE_APPLICATION_CREDENTIALS is checked the same way; a good key passes."""
    monkeypatch.delenv("FIREBASE_DATABASE_EMULATOR_HOST", raising=False)
    key = tmp_path / "env-key.json"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    code, out = _check(tmp_path, FIREBASE)
    assert code == 2 and out.startswith(f"store.firebase_credentials: {key}: no such file"), out
    fields = {"type": "service_account", "project_id": "p", "private_key": "k"}
    key.write_text(json.dumps({**fields, "client_email": "a@p.iam"}), encoding="utf-8")
    assert _check(tmp_path, FIREBASE) == (0, "OK\n")


def test_config_check_blynk_token_and_meter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blynk on without a token, and blynk.meter naming no meter: both keys, exit 2."""
    monkeypatch.delenv("TOKENMETER_BLYNK_TOKEN", raising=False)
    meters = '[[meters]]\nid = "rumah"\n'
    code, out = _check(tmp_path, f'[blynk]\ntransport = "mqtt"\nmeter = "gudang"\n{meters}')
    assert code == 2
    lines = out.splitlines()
    assert lines[0].startswith("blynk.auth_token: required when blynk.transport = 'mqtt'")
    assert lines[1] == "blynk.meter: 'gudang' is not a configured meter (known: rumah)"
    monkeypatch.setenv("TOKENMETER_BLYNK_TOKEN", "abc")
    assert _check(tmp_path, f'[blynk]\ntransport = "mqtt"\nmeter = "rumah"\n{meters}') == (
        0,
        "OK\n",
    )
    assert _check(tmp_path, f'[blynk]\ntransport = "off"\n{meters}') == (0, "OK\n")


def test_config_check_blynk_meter_added_with_meter_add(tmp_path: Path) -> None:
    """A meter kept in the store (``tokenmeter meter add``) counts as configured."""
    store = SqliteStore(tmp_path / "tm.db")
    store.register_meter(Meter(id="gudang", name="Gudang", timezone="UTC", low_kwh=5.0))
    store.close()
    code, out = _check(tmp_path, '[blynk]\nmeter = "gudang"\n')
    assert (code, out) == (0, "OK\n")
