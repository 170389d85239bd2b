"""README's "First day with real hardware", followed as written.

Every ``sh`` block of the section runs in order with bash, in an empty folder, with
the project's ``tokenmeter`` first on the PATH. The hardware is the project's
simulated meter (``tokenmeter simulate``: an HTTP camera and an MQTT keypad) on a
real mosquitto; the only changes to the text are the two addresses, the camera's
and the broker's, which must appear in the section as the test expects them. A
command the README drops, renames or words differently from the code fails here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, free_port, get_json, tokenmeter_command, wait_for
from tokenmeter.devices.broker import LocalBroker

pytestmark = pytest.mark.slow

SECTION = "## First day with real hardware"
CAMERA = "http://esp32cam.local/capture"
BROKER = "mqtt://192.168.1.10:1883"
TOKEN = "1234 5678 9012 3456 7890"
STEP_TIMEOUT_S = 120.0


def walkthrough_blocks() -> list[str]:
    """The ``sh`` blocks of the README section, in order."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index(SECTION)
    end = readme.find("\n## ", start + len(SECTION))
    section = readme[start : end if end >= 0 else None]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def _environment(bin_dir: Path) -> dict[str, str]:
    """The user's shell: tokenmeter on the PATH, no config or secret from outside."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TOKENMETER_") and name != "GOOGLE_APPLICATION_CREDENTIALS"
    }
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture
def broker() -> Iterator[LocalBroker]:
    with LocalBroker() as running:
        yield running


@pytest.fixture
def simulated_meter(tmp_path: Path, broker: LocalBroker) -> Iterator[str]:
    """``tokenmeter simulate`` in its own folder; the URL of its camera."""
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "config.toml").write_text(
        f'[mqtt]\nurl = "{broker.url}"\n\n[[meters]]\nid = "rumah"\n', encoding="utf-8"
    )
    log = devices / "simulate.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*tokenmeter_command(), "simulate", "--meter", "rumah", "--lang", "en"],
            cwd=devices,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_environment(Path()),
        )
    try:
        assert wait_for(lambda: "Keypad on" in log.read_text(encoding="utf-8"), 30.0), (
            log.read_text(encoding="utf-8")
        )
        found = re.search(r"camera (http://\S+/capture)", log.read_text(encoding="utf-8"))
        assert found is not None
        yield found[1]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def _run(block: str, cwd: Path, env: dict[str, str], stdin: str = "") -> str:
    """One block with ``bash -e``: its output; a failing command fails the test."""
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"$ {block}\n{output}"
    assert "Traceback" not in output, output
    return output


def _serve(block: str, cwd: Path, env: dict[str, str], health_port: int) -> None:
    """The service block: ready (``/healthz`` answers ok), then stopped with Ctrl-C."""
    log = cwd / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", f"exec {block.strip()}"],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{health_port}/healthz"

    def healthy() -> bool:
        assert proc.poll() is None, log.read_text(encoding="utf-8")
        try:
            status, body = get_json(url)
        except (OSError, ValueError):
            return False
        return status == 200 and bool(body.get("ok"))

    try:
        assert wait_for(healthy, 30.0), log.read_text(encoding="utf-8")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    assert code == 0, log.read_text(encoding="utf-8")


def test_first_day_with_real_hardware(
    tmp_path: Path, broker: LocalBroker, simulated_meter: str
) -> None:
    """Configure, aim, enrol, check, schedule, top up, serve: each step as the README
    writes it, with the outcome the README promises."""
    readme = walkthrough_blocks()
    assert len(readme) == 6, readme
    joined = "\n".join(readme)
    assert CAMERA in joined and BROKER in joined  # the two addresses this test replaces
    blocks = [
        block.replace(CAMERA, simulated_meter).replace(BROKER, broker.url) for block in readme
    ]
    home = tmp_path / "home"
    home.mkdir()
    env = _environment(Path(tokenmeter_command()[0]).parent)
    configure, aim, teach, check, topup, serve = blocks

    assert "OK" in _run(configure, home, env).splitlines()
    health_port = free_port()  # the default 8765 may be taken on the test machine
    with (home / "config.toml").open("a", encoding="utf-8") as config:
        config.write(f"\n[service]\nhealth_port = {health_port}\n")

    out = _run(aim, home, env)
    assert " kWh" not in out and re.search(r": \d+[.,]\d+ \(keyakinan", out), out
    overlay = simulated_meter.removeprefix("http://").replace(":", "_").replace("/", "_")
    assert (home / "out" / f"{overlay}.overlay.png").is_file(), sorted((home / "out").iterdir())

    out = _run(teach, home, env)
    assert "Referensi pertama disimpan" in out, out

    out = _run(check, home, env)
    assert "[Rumah] Sisa token " in out and "Foto: " in out, out
    assert "rumah: 06:00, 18:00" in out, out

    out = _run(topup, home, env, stdin=TOKEN + "\n")
    assert "sedang diketik di meter" in out and "berhasil: +" in out, out
    assert TOKEN.replace(" ", "") not in out.replace(" ", "").replace("-", "")
    assert out.count("isi token") == 2, out  # the balance before and after the top-up

    _serve(serve, home, env, health_port)
