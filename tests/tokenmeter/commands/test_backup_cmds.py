"""``tokenmeter backup`` and ``tokenmeter restore``, through the real CLI."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.tokenmeter.store.contract import make_reading
from tokenmeter.cli import main
from tokenmeter.store.sqlite import SqliteStore


def write_config(root: Path, health_port: int = 0) -> Path:
    path = root / "config.toml"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[store]
sqlite_path = "{root / "data" / "tokenmeter.db"}"
photo_dir = "{root / "photos"}"

[service]
health_port = {health_port}
""",
        encoding="utf-8",
    )
    return path


def run(config_file: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [*args, "--config", str(config_file)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def filled(tmp_path: Path) -> Path:
    config_file = write_config(tmp_path / "old")
    store = SqliteStore(tmp_path / "old" / "data" / "tokenmeter.db")
    store.add_reading(make_reading("rumah", 1, kwh=12.5))
    store.close()
    (tmp_path / "old" / "photos" / "rumah").mkdir(parents=True)
    (tmp_path / "old" / "photos" / "rumah" / "r00001.jpg").write_bytes(b"jpeg")
    return config_file


def test_backup_and_restore_texts(filled: Path, tmp_path: Path) -> None:
    """Indonesian by default: what was written, what was left out, what to do next."""
    code, out, err = run(filled, "backup", str(tmp_path / "b"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"Cadangan dibuat di {tmp_path / 'b'}: basis data (skema ")
    assert ", 1 foto, 2 berkas, " in lines[0]
    assert lines[1].startswith("Tidak disalin: brankas token")
    new = write_config(tmp_path / "new")
    code, out, _ = run(new, "restore", str(tmp_path / "b"), "--lang", "en")
    assert code == 0
    assert out.splitlines()[0].startswith(f"Restored from {tmp_path / 'b'}: database (schema ")
    assert out.splitlines()[-1] == "(Re)start the service: sudo systemctl restart tokenmeter"
    code, out, _ = run(new, "history", "--meter", "rumah", "--json")
    assert [r["kwh"] for r in json.loads(out)] == [12.5]
    assert (tmp_path / "new" / "photos" / "rumah" / "r00001.jpg").read_bytes() == b"jpeg"


def test_backup_json(filled: Path, tmp_path: Path) -> None:
    """--json gives numbers as numbers and names what was left out."""
    code, out, _ = run(filled, "backup", str(tmp_path / "b"), "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["files"], data["photos"]) == (2, 1)
    assert isinstance(data["bytes"], int)
    assert data["left_out"] == ["topup-tokens.vault", "topup-tokens.key"]


def test_refusals_are_sentences(filled: Path, tmp_path: Path) -> None:
    """A non-empty folder and a folder that is no backup: exit 2, one line, no traceback."""
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    code, _, err = run(filled, "backup", str(tmp_path / "busy"))
    assert (code, err) == (
        2,
        f"Folder {tmp_path / 'busy'} tidak kosong; pilih folder baru atau yang kosong.\n",
    )
    code, _, err = run(filled, "restore", str(tmp_path / "busy"))
    assert code == 2 and err.startswith("Bukan cadangan tokenmeter yang utuh")


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_port() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_restore_refused_while_healthz_answers(
    filled: Path, tmp_path: Path, health_port: int
) -> None:
    """A service answering /healthz blocks a restore; --force restores anyway."""
    run(filled, "backup", str(tmp_path / "b"))
    running = write_config(tmp_path / "old", health_port)
    code, _, err = run(running, "restore", str(tmp_path / "b"))
    assert code == 2
    assert err.startswith(
        f"Layanan tampaknya sedang berjalan (http://127.0.0.1:{health_port}/healthz)."
    )
    assert run(running, "restore", str(tmp_path / "b"), "--force")[0] == 0
