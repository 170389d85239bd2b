"""Faults: the service's own mosquitto dies, or the service dies under it.

With ``[mqtt] url`` empty the service runs its own broker. A broker that dies must be
started again on the same port, and the MQTT link must come back to it (a top-up
goes through afterwards). A broker must never outlive its service or the
``simulate`` command that started it, not even when that process is SIGKILLed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.conftest import free_port, get_json, tokenmeter_command
from tests.tokenmeter.services.simkit import ShownReader, sim_config
from tokenmeter.app import SimOptions
from tokenmeter.domain import TopUpStatus
from tokenmeter.service import build_service

TOKEN = "12345678901234567890"


def _state(pid: int) -> str | None:
    """The process state letter (``Z`` for a zombie), or None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z")


def _brokers_of(parent: int) -> set[int]:
    """Running mosquitto processes whose parent is ``parent``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat.rpartition(")")[2].split()
        if comm == "mosquitto" and int(fields[1]) == parent and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def _eventually(predicate: Callable[[], bool], timeout: float) -> bool:
    return await asyncio.to_thread(_wait, predicate, timeout)


@contextmanager
def _reaped(pids: set[int]) -> Iterator[set[int]]:
    """Kill whatever in ``pids`` is still running at the end (brokers a failing run left)."""
    try:
        yield pids
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _write_config(tmp_path: Path, health_port: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        "[store]\n"
        'sqlite_path = "tm.db"\n'
        'photo_dir = "photos"\n'
        "[mqtt]\n"
        'url = ""\n'
        "[service]\n"
        f"health_port = {health_port}\n"
        "[[meters]]\n"
        'id = "rumah"\n'
        'camera_url = "sim:"\n'
        "schedule = []\n",
        encoding="utf-8",
    )
    return path


def _spawn(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / "out.log").open("wb")
    proc = subprocess.Popen(
        [*tokenmeter_command(), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    log.close()
    return proc


def _output(tmp_path: Path) -> str:
    return (tmp_path / "out.log").read_text(errors="replace")[-3000:]


async def test_a_killed_broker_is_restarted_and_the_link_comes_back(tmp_path: Path) -> None:
    """SIGKILL the service's own mosquitto: a new one listens on the same port, MQTT
    reconnects, the simulated keypad is back online and a top-up is confirmed."""
    config = sim_config(tmp_path, "")
    config.service.health_port = 0
    service = build_service(config, sim=SimOptions(key_time_scale=0.01))
    reader = ShownReader()
    reader.watch(service.core.sim_meters["rumah"])
    service.core.checks.reader = reader
    before = _brokers_of(os.getpid())
    await service.start()
    with _reaped(_brokers_of(os.getpid()) - before) as (first, *_):
        try:
            core = service.core
            assert core.broker is not None
            port = core.broker.port
            assert core.mqtt.connected and core.keypad.is_online("rumah")
            os.kill(first, signal.SIGKILL)
            assert await _eventually(lambda: not core.mqtt.connected, 5)
            assert await _eventually(lambda: _listening(port), 10), "the broker was not restarted"
            assert await _eventually(lambda: core.mqtt.connected, 10), "MQTT did not reconnect"
            assert await _eventually(lambda: core.keypad.is_online("rumah"), 10)
            assert await _eventually(
                lambda: core.broker is not None and bool(core.broker.restarts), 5
            )
            (second,) = _brokers_of(os.getpid()) - before
            assert second != first
            health = service.probe()
            assert health["ok"] is True
            assert health["links"]["broker"]["restarts"] == 1
            topup = await core.topups.start("rumah", TOKEN, "cli")
            done = await core.topups.wait("rumah", topup.id, 30)
            assert done.status is TopUpStatus.CONFIRMED
        finally:
            await service.stop()
    assert not _listening(port)


def test_sigkill_of_serve_takes_its_broker_along(tmp_path: Path) -> None:
    """``tokenmeter serve`` killed with SIGKILL leaves no mosquitto behind; a second
    start runs with exactly one broker."""
    health_port = free_port()
    config = _write_config(tmp_path, health_port)
    with _reaped(set()) as started:
        for run in range(2):
            _serve_then_kill(tmp_path, config, health_port, run, started)


def _serve_then_kill(
    tmp_path: Path, config: Path, health_port: int, run: int, started: set[int]
) -> None:
    """Start serve, wait for /healthz ok, SIGKILL it, check its broker is gone."""
    url = f"http://127.0.0.1:{health_port}/healthz"
    proc = _spawn(tmp_path, "serve", "--config", str(config))
    try:
        assert _wait(lambda: _healthy(url, proc), 30), _output(tmp_path)
        brokers = _brokers_of(proc.pid)
        started |= brokers
        assert len(brokers) == 1, f"run {run}: brokers {brokers}"
        proc.kill()
        proc.wait(10)
        assert _wait(lambda: not any(map(_alive, brokers)), 5), (
            f"run {run}: mosquitto {brokers} outlived the killed service"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _healthy(url: str, proc: subprocess.Popen[bytes]) -> bool:
    assert proc.poll() is None, "the service exited"
    try:
        status, body = get_json(url)
    except (OSError, ValueError):
        return False
    return status == 200 and bool(body.get("ok"))


def test_simulate_stops_its_broker_on_sigterm_and_sigkill(tmp_path: Path) -> None:
    """``tokenmeter simulate`` with its own broker: SIGTERM stops it cleanly (exit 0,
    broker gone); after SIGKILL the broker is gone too."""
    config = _write_config(tmp_path, 0)
    with _reaped(set()) as started:
        for signum, code in ((signal.SIGTERM, 0), (signal.SIGKILL, -signal.SIGKILL)):
            _simulate_then_signal(tmp_path, config, signum, code, started)


def _simulate_then_signal(
    tmp_path: Path, config: Path, signum: signal.Signals, code: int, started: set[int]
) -> None:
    """Start simulate, send ``signum``, expect exit ``code``, check its broker is gone."""
    proc = _spawn(tmp_path, "simulate", "--meter", "rumah", "--config", str(config))
    try:
        assert _wait(lambda: "Ctrl-C" in _output(tmp_path), 20), _output(tmp_path)
        brokers = _brokers_of(proc.pid)
        started |= brokers
        assert len(brokers) == 1, _output(tmp_path)
        proc.send_signal(signum)
        assert proc.wait(10) == code, _output(tmp_path)
        assert _wait(lambda: not any(map(_alive, brokers)), 5), (
            f"{signum.name}: mosquitto {brokers} outlived simulate"
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
