"""Tests for tokenmeter.service: the service around a core, its /healthz and its doors."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from pydantic import SecretStr

from tests.tokenmeter.services.simkit import ShownReader, sim_config
from tokenmeter.console import ConsoleNotifier
from tokenmeter.devices.broker import LocalBroker, free_port
from tokenmeter.domain import utcnow
from tokenmeter.service import Service, build_service


async def _get(port: int, path: str = "/healthz") -> tuple[int, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _service(tmp_path: Path, broker: LocalBroker, **changes: object) -> Service:
    config = sim_config(tmp_path, broker.url, meters=("rumah", "kos"))
    config.service.health_port = free_port()
    for key, value in changes.items():
        section, name = key.split("__")
        setattr(getattr(config, section), name, value)
    return build_service(config)


async def test_healthz_shows_each_link_while_running(tmp_path: Path, broker: LocalBroker) -> None:
    """Running: 200 with MQTT, store, scheduler and each meter's keypad; stopped: closed."""
    service = _service(tmp_path, broker)
    stop = asyncio.Event()
    run = asyncio.create_task(service.run(stop))
    try:
        for _ in range(100):
            if service.probe()["links"]["store"]["ok"]:
                break
            await asyncio.sleep(0.05)
        assert service.health is not None
        status, body = await _get(service.health.port)
        links = body["links"]
        assert status == 200 and body["ok"] is True and body["status"] == "ok"
        assert isinstance(links, dict)
        assert links["mqtt"] == {"ok": True, "connected": True}
        assert links["scheduler"]["running"] is True
        assert links["store"]["ok"] is True and links["store"]["backend"] == "sqlite"
        assert {m: v["keypad_online"] for m, v in links["meters"].items()} == {
            "rumah": True,
            "kos": True,
        }
        assert "telegram" not in links and "blynk" not in links
        assert (await _get(service.health.port, "/other"))[0] == 404
    finally:
        stop.set()
        await run
    assert service.probe()["ok"] is False and not service.scheduler_running()
    assert service.probe()["status"] == "down"


async def test_checks_reach_the_console_and_healthz(tmp_path: Path, broker: LocalBroker) -> None:
    """Without a Telegram token a check is printed on the console and shown on /healthz."""
    stream = io.StringIO()
    service = _service(tmp_path, broker)
    (console,) = service.notifiers
    assert isinstance(console, ConsoleNotifier)
    console.stream = stream
    reader = ShownReader()
    reader.watch(service.core.sim_meters["rumah"])
    service.core.checks.reader = reader
    await service.start()
    try:
        await service.core.checks.check("rumah", "cli")
        camera = service.probe()["links"]["meters"]["rumah"]["camera"]
        assert camera["ok"] is True and camera["last_check"] == "ok"
        assert "[rumah] Sisa token 120,00 kWh." in stream.getvalue()
    finally:
        await service.stop()
    await service.stop()  # a second stop does nothing


async def test_telegram_away_is_reported_not_fatal(tmp_path: Path, broker: LocalBroker) -> None:
    """A Bot API that does not answer: the service runs, /healthz says telegram is down."""
    closed = free_port()
    service = _service(
        tmp_path,
        broker,
        telegram__token=SecretStr("123456:TEST-token"),
        telegram__api_base_url=f"http://127.0.0.1:{closed}/bot",
    )
    assert service.notifiers == []  # Telegram replaces the console
    await service.start()
    try:
        assert service.telegram is not None
        for _ in range(100):
            if service.telegram.attempts and service.telegram.last_error:
                break
            await asyncio.sleep(0.05)
        probe = service.probe()
        assert probe["ok"] is False and probe["status"] == "degraded"
        assert probe["links"]["telegram"]["polling"] is False
        assert probe["links"]["mqtt"]["connected"] is True
    finally:
        await service.stop()


async def test_a_slot_of_many_meters_is_one_console_summary(
    tmp_path: Path, broker: LocalBroker
) -> None:
    """Five meters checked by one slot print one summary line, not five check lines."""
    stream = io.StringIO()
    config = sim_config(tmp_path, broker.url, meters=("k1", "k2", "k3", "k4", "k5"))
    service = build_service(config, health=False)
    (console,) = service.notifiers
    assert isinstance(console, ConsoleNotifier)
    console.stream = stream
    await service.start()
    try:
        now = utcnow()
        ran = await asyncio.gather(
            *(service.scheduler.run_slot(m.id, "06:00", now) for m in config.meters)
        )
        assert all(ran)
        for _ in range(100):
            if "Cek terjadwal" in stream.getvalue():
                break
            await asyncio.sleep(0.05)
    finally:
        await service.stop()
    checks = [line for line in stream.getvalue().splitlines() if "Perangkat" not in line]
    assert checks == ["Cek terjadwal · 5 meter OK."], stream.getvalue()
