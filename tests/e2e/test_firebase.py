"""End to end on the Realtime Database: the service starts while the database is away,
catches up when it comes (seeds the meters, loads the schedule) and stores a check."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    BOT_TOKEN,
    OWNER,
    FixtureCamera,
    ServiceProcess,
    free_port,
    get_json,
    photos,
    wait_for,
    write_config,
)
from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.texts import format_kwh

pytestmark = pytest.mark.slow

NS = "tokenmeter-e2e"


def test_firebase_away_at_start_up_then_checks_land_in_the_database(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Database down at start: reported, not fatal; once up, schedule loaded and a
    /cektoken reading is written under /meters/rumah."""
    (photo,) = photos(1)
    camera = FixtureCamera(lambda: photo)
    rtdb_port, health_port = free_port(), free_port()
    with FakeBotApi(BOT_TOKEN) as api:
        config = write_config(
            tmp_path / "tokenmeter.toml",
            f"""
[store]
backend = "firebase"
firebase_url = "http://127.0.0.1:{rtdb_port}/?ns={NS}"
sqlite_path = "{tmp_path / "outbox.db"}"
photo_dir = "{tmp_path / "photos"}"

[mqtt]
url = "{broker.url}"
prefix = "fb-{uuid.uuid4().hex[:8]}"

[telegram]
token = "{BOT_TOKEN}"
api_base_url = "{api.base_url}"
allowed_chats = [{OWNER}]

[service]
health_port = {health_port}

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "{camera.url}"
schedule = ["06:00", "18:00"]
""",
        )
        service = ServiceProcess(config, health_port).start()
        rtdb = FirebaseRtdbServer(port=rtdb_port)
        try:
            assert wait_for(lambda: _store_ok(service.health_url) is False, 30), service.output()
            status, body = get_json(service.health_url)
            assert status == 503 and body["ok"] is False
            assert body["links"]["mqtt"]["connected"] is True  # the rest runs meanwhile

            rtdb.start()
            body = service.wait_ready()
            assert body["links"]["store"]["ok"] is True
            assert wait_for(
                lambda: get_json(service.health_url)[1]["links"]["scheduler"]["jobs"] == 2
            )
            schedule = rtdb.read(NS, ["meters", "rumah", "schedule"])
            assert isinstance(schedule, dict) and schedule["times"] == ["06:00", "18:00"]

            api.send_text(OWNER, "/cektoken")
            assert api.wait_until(lambda: bool(api.calls_of("sendPhoto", OWNER)), 30)
            assert f"{format_kwh(photo.value)} kWh" in api.calls_of("sendPhoto", OWNER)[0].text

            def stored() -> bool:
                latest = rtdb.read(NS, ["meters", "rumah", "latest"])
                return isinstance(latest, dict) and latest.get("kwh") == photo.value

            assert wait_for(stored, 20)
            assert service.terminate() == 0
            output = service.output()
            assert "Traceback" not in output and "store not reachable" in output
        finally:
            service.kill()
            rtdb.stop()
            camera.stop()


def _store_ok(url: str) -> object:
    """The store's ``ok`` on /healthz (None before the first probe or while starting)."""
    try:
        return get_json(url)[1]["links"]["store"]["ok"]
    except OSError:
        return None
