"""Tests for tokenmeter.config_problem: what is wrong in a config file, told in the
run's language by ``config check`` (a line per key) and at start-up (one line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tokenmeter.commands.clikit import invoke

BAD = """
[store]
backend = "mysql"
photos_keep = 0

[mqtt]
url = "ftp://broker"
prot = 1

[checks]
concurrency = "many"
camera_timeout_s = "slow"

[service]
log_level = "LOUD"

[[meters]]
id = "kamar 1"
camera_url = "esp32cam.local/capture"
timezone = "Mars/Base"
schedule = ["25:00"]
decimals = 7
flash = "yes"
roi = [1, 2]
"""

INDONESIAN = [
    "store.backend: harus salah satu dari 'sqlite' atau 'firebase'",
    "store.photos_keep: harus ≥ 1",
    "mqtt.url: gunakan mqtt://host:1883 atau mqtts://host:8883 (kosong = broker lokal dijalankan)",
    "mqtt.prot: kunci tidak dikenal",
    "checks.camera_timeout_s: harus angka",
    "checks.concurrency: harus bilangan bulat",
    "service.log_level: harus salah satu dari 'DEBUG', 'INFO', 'WARNING' atau 'ERROR'",
    "meters.0.id: hanya huruf, angka, - dan _ (1-40 karakter)",
    "meters.0.camera_url: gunakan http://<kamera>/capture (atau https://), atau sim: untuk "
    "simulator",
    "meters.0.timezone: zona waktu 'Mars/Base' tidak dikenal",
    "meters.0.schedule: jam '25:00' tidak valid (gunakan JJ:MM, 00:00-23:59)",
    "meters.0.roi: harus 8 angka x1,y1,…,x4,y4 (kiri atas, kanan atas, kanan bawah, kiri "
    "bawah) yang melingkupi sebuah bidang, atau []",
    "meters.0.decimals: harus 0-3 atau 'auto'",
    "meters.0.flash: harus true atau false",
]


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_config_check_tells_every_problem_in_indonesian(tmp_path: Path) -> None:
    """Each problem on its own line with its key, in Indonesian by default; pydantic's
    English ("Input should be ...") never shows."""
    code, out, _ = invoke("config", "check", "--config", str(_write(tmp_path, BAD)))
    assert code == 2
    assert sorted(out.splitlines()) == sorted(INDONESIAN)


def test_config_check_in_english(tmp_path: Path) -> None:
    """--lang en words the same problems in English."""
    path = _write(tmp_path, BAD)
    code, out, _ = invoke("config", "check", "--config", str(path), "--lang", "en")
    lines = out.splitlines()
    assert code == 2 and len(lines) == len(INDONESIAN)
    assert "store.photos_keep: must be ≥ 1" in lines
    assert "checks.concurrency: must be a whole number" in lines
    assert "meters.0.timezone: unknown timezone 'Mars/Base'" in lines
    assert "mqtt.prot: unknown key" in lines
    assert not any("Input should" in line for line in lines)


def test_start_up_tells_the_problems_in_one_line(tmp_path: Path) -> None:
    """A command that loads a bad config says so in one line in the run's language,
    exit 2, no traceback."""
    path = _write(tmp_path, BAD)
    code, out, err = invoke("serve", "--config", str(path))
    lines = err.splitlines()
    assert (code, out) == (2, "")
    assert lines[0] == f"konfigurasi: {path}"
    assert lines[1].startswith(f"Kesalahan konfigurasi: {path}: ") and len(lines) == 2
    assert all(problem in lines[1] for problem in INDONESIAN)
    code, _, err = invoke("history", "--config", str(path), "--lang", "en")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"Configuration error: {path}: store.backend: must be one of ")
    assert "meters.0.flash: must be true or false" in err


def test_a_file_that_is_not_toml(tmp_path: Path) -> None:
    """Broken TOML names the line and column; bytes that are not text are refused too."""
    path = _write(tmp_path, '[store]\nsqlite_path = "a.db\n')
    assert invoke("config", "check", "--config", str(path)) == (
        2,
        "bukan TOML yang valid (baris 2, kolom 20)\n",
        f"konfigurasi: {path}\n",
    )
    code, _, err = invoke("history", "--config", str(path))
    assert (code, err) == (
        2,
        f"Kesalahan konfigurasi: {path}: bukan TOML yang valid (baris 2, kolom 20)\n",
    )
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe[store]\n")
    code, _, err = invoke("history", "--config", str(binary))
    assert (code, err) == (2, f"Kesalahan konfigurasi: {binary}: bukan TOML yang valid\n")


def test_config_check_after_loading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the file needs from outside (a Blynk token, a meter for Blynk) in Indonesian."""
    monkeypatch.delenv("TOKENMETER_BLYNK_TOKEN", raising=False)
    path = _write(
        tmp_path,
        f'[store]\nsqlite_path = "{tmp_path / "tm.db"}"\n'
        '[blynk]\ntransport = "mqtt"\nmeter = "gudang"\n[[meters]]\nid = "rumah"\n',
    )
    code, out, _ = invoke("config", "check", "--config", str(path))
    assert code == 2
    assert out.splitlines() == [
        "blynk.auth_token: wajib diisi bila blynk.transport = 'mqtt' "
        "(atau set TOKENMETER_BLYNK_TOKEN)",
        "blynk.meter: 'gudang' bukan meter yang dikenal (yang ada: rumah)",
    ]


def test_data_under_etc_is_refused(tmp_path: Path) -> None:
    """A config whose database or photos would live under /etc (config.example.toml
    copied to /etc/tokenmeter with its relative data/ paths) is refused by config check:
    data belongs in /var/lib/tokenmeter."""
    path = _write(
        tmp_path,
        '[store]\nsqlite_path = "/etc/tokenmeter/data/tokenmeter.db"\n'
        'photo_dir = "/etc/tokenmeter/data/photos"\n',
    )
    code, out, _ = invoke("config", "check", "--config", str(path))
    assert code == 2
    assert out.splitlines() == [
        "store.sqlite_path: /etc/tokenmeter/data/tokenmeter.db ada di bawah /etc; berikan "
        "jalur absolut, misalnya /var/lib/tokenmeter/tokenmeter.db",
        "store.photo_dir: /etc/tokenmeter/data/photos ada di bawah /etc; berikan jalur "
        "absolut, misalnya /var/lib/tokenmeter/photos",
    ]
