"""End to end: SIGTERM while the keypad is typing, then a restart finishes the top-up
without typing the token a second time (the same command id is asked again)."""

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
    photos,
    wait_for,
    write_config,
)
from tests.mqtt_watch import TopicWatcher
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import TopUpStatus, normalize_token
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.sqlite import SqliteStore

pytestmark = pytest.mark.slow

TOKEN = "2468 1357 9753 1864 2000"


def test_sigterm_mid_topup_then_restart_resumes_without_typing_twice(
    broker: LocalBroker, tmp_path: Path
) -> None:
    """Stopped while SENT, the top-up stays SENT; after a restart it ends CONFIRMED and
    the keypad pressed the keys once (the second command only asks about the same id)."""
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    before, after = photos(2)
    meter = SimulatedMeter("rumah")
    keypad = SimulatedKeypadDevice(meter, broker.url, prefix=prefix, time_scale=0.25)
    keypad.start()
    camera = FixtureCamera(lambda: after if meter.tokens_accepted else before)
    commands = TopicWatcher(broker, f"{prefix}/rumah/keypad/cmd")
    health_port = free_port()
    db_path = tmp_path / "tokenmeter.db"
    with FakeBotApi(BOT_TOKEN) as api:
        config = write_config(
            tmp_path / "tokenmeter.toml",
            f"""
[store]
sqlite_path = "{db_path}"
photo_dir = "{tmp_path / "photos"}"

[mqtt]
url = "{broker.url}"
prefix = "{prefix}"

[telegram]
token = "{BOT_TOKEN}"
api_base_url = "{api.base_url}"
allowed_chats = [{OWNER}]

[checks]
max_kwh_per_hour = 100000.0

[topup]
settle_s = 0.2
result_timeout_s = 20.0

[service]
health_port = {health_port}

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "{camera.url}"
schedule = []
""",
        )
        service = ServiceProcess(config, health_port).start()
        try:
            service.wait_ready()
            api.send_text(OWNER, f"/isi {TOKEN}")
            assert api.wait_until(lambda: bool(list(api.sent_messages(OWNER))), 20)
            (confirm,) = list(api.sent_messages(OWNER))
            yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            api.press(OWNER, confirm.message_id, yes)
            assert wait_for(lambda: bool(commands.keys()), 20), service.output()  # typing

            assert service.terminate() == 0  # the keypad is still typing
            first_output = service.output()
            assert service.stop_seconds is not None and service.stop_seconds < 5.0
            assert "Traceback" not in first_output
            (stored,) = SqliteStore(db_path).list_topups("rumah")
            assert stored.status is TopUpStatus.SENT and meter.tokens_accepted == 0

            assert wait_for(lambda: meter.tokens_accepted == 1, 20)  # it finishes alone
            service.start()
            service.wait_ready()

            def final() -> bool:
                (topup,) = SqliteStore(db_path).list_topups("rumah")
                return topup.status is not TopUpStatus.SENT

            assert wait_for(final, 30), service.output()
            (done,) = SqliteStore(db_path).list_topups("rumah")
            assert done.status is TopUpStatus.CONFIRMED, done
            assert (done.before, done.after) == (before.value, after.value)
            sent = [c for c in commands.all() if not c["id"].startswith("probe-")]  # not probes
            keys = [c["keys"] for c in sent]
            assert keys[0] == normalize_token(TOKEN) and len(keys) >= 2
            assert set(keys[1:]) == {""}  # after the restart: only asked about, never re-typed
            assert len({c["id"] for c in sent}) == 1  # the same command id
            assert keypad.commands_pressed == 1 and meter.tokens_accepted == 1
            assert service.terminate() == 0
            assert "Traceback" not in service.output()
        finally:
            service.kill()
            commands.stop()
            keypad.stop()
            camera.stop()
