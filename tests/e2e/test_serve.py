"""End to end: one ``tokenmeter serve`` process with Telegram, Blynk, two HTTP cameras,
mosquitto and a simulated keypad, driven the way people and devices drive it.

The tests share one running service and go in order; the scheduled check is set
for the next whole minute when the service starts and checked last, so the wait for
it overlaps the other tests (the one long wait of the suite)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.bot.blynk.conftest import BlynkCloudSide
from tests.e2e.conftest import (
    BOT_TOKEN,
    OWNER,
    FixtureCamera,
    Photo,
    ServiceProcess,
    free_port,
    get_json,
    photos,
    wait_for,
    write_config,
)
from tests.mqtt_watch import TopicWatcher
from tests.servers.telegram_api import ApiCall, FakeBotApi
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import ReadingStatus, TopUpStatus, mask_token, normalize_token
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import SimulatedMeter
from tokenmeter.store.sqlite import SqliteStore
from tokenmeter.texts import format_kwh

pytestmark = pytest.mark.slow

TELEGRAM_TOKEN = "1234 5678 9012 3456 7890"
BLYNK_TOKEN = "5555-6666-7777-8888-9999"
PREFIX = "e2e"


@dataclass
class System:
    """The running service and everything around it."""

    service: ServiceProcess
    api: FakeBotApi
    cloud: BlynkCloudSide
    keypad: SimulatedKeypadDevice
    meter: SimulatedMeter
    commands: TopicWatcher
    check_photo: Photo
    topup_photos: list[Photo]
    slot_at: datetime
    db_path: Path

    def store(self) -> SqliteStore:
        return SqliteStore(self.db_path)


def next_slot(now: datetime) -> datetime:
    """The next whole minute at least 25 s away (time for the service to start
    and answer /cektoken before the scheduled check reads the same meter)."""
    slot = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    return slot if (slot - now).total_seconds() >= 25 else slot + timedelta(minutes=1)


@pytest.fixture(scope="module")
def module_broker() -> Iterator[LocalBroker]:
    """A mosquitto for this module (Blynk.Cloud's topics carry no prefix)."""
    with LocalBroker() as running:
        yield running


@pytest.fixture(scope="module")
def system(
    module_broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[System]:
    """``tokenmeter serve`` with cameras, Telegram, Blynk and a keypad around it."""
    tmp = tmp_path_factory.mktemp("serve")
    check_photo, *topup_photos = photos(4)
    meter = SimulatedMeter("kos")  # the keypad types into it; its camera shows fixtures
    keypad = SimulatedKeypadDevice(meter, module_broker.url, prefix=PREFIX, time_scale=0.05)
    keypad.start()
    rumah_camera = FixtureCamera(lambda: check_photo)
    kos_camera = FixtureCamera(lambda: topup_photos[min(meter.tokens_accepted, 2)])
    api = FakeBotApi(BOT_TOKEN).start()
    cloud = BlynkCloudSide(module_broker).start()
    commands = TopicWatcher(module_broker, f"{PREFIX}/kos/keypad/cmd")
    slot_at = next_slot(datetime.now(UTC))
    health_port = free_port()
    config = write_config(
        tmp / "tokenmeter.toml",
        f"""
[store]
sqlite_path = "{tmp / "tokenmeter.db"}"
photo_dir = "{tmp / "photos"}"

[mqtt]
url = "{module_broker.url}"
prefix = "{PREFIX}"

[telegram]
api_base_url = "{api.base_url}"
allowed_chats = [{OWNER}]

[blynk]
transport = "mqtt"
auth_token = "blynk-device-token"
server = "{module_broker.host}"
port = {module_broker.port}
tls = false
meter = "kos"

[checks]
camera_timeout_s = 3.0
max_kwh_per_hour = 100000.0

[topup]
settle_s = 0.2
result_timeout_s = 20.0

[service]
health_port = {health_port}
instance_id = "e2e"

[[meters]]
id = "rumah"
name = "Rumah"
camera_url = "{rumah_camera.url}"
timezone = "UTC"
schedule = ["{slot_at:%H:%M}"]

[[meters]]
id = "kos"
name = "Kos"
camera_url = "{kos_camera.url}"
timezone = "UTC"
schedule = []
""",
    )
    service = ServiceProcess(config, health_port)
    service.env["TOKENMETER_TELEGRAM_TOKEN"] = BOT_TOKEN
    service.start()
    try:
        service.wait_ready()
        yield System(
            service,
            api,
            cloud,
            keypad,
            meter,
            commands,
            check_photo,
            topup_photos,
            slot_at,
            tmp / "tokenmeter.db",
        )
    finally:
        service.kill()
        commands.stop()
        cloud.stop()
        api.stop()
        keypad.stop()
        rumah_camera.stop()
        kos_camera.stop()


def typed_commands(system: System) -> list[dict[str, object]]:
    return [c for c in system.commands.all() if c.get("keys")]


def test_healthz_reports_every_link(system: System) -> None:
    """/healthz answers 200 with MQTT, store, scheduler, Telegram polling and each meter."""
    assert wait_for(lambda: get_json(system.service.health_url)[1]["links"]["blynk"]["connected"])
    status, body = get_json(system.service.health_url)
    links = body["links"]
    assert status == 200 and body["ok"] is True
    assert links["mqtt"]["connected"] is True
    assert links["store"]["ok"] is True and links["store"]["backend"] == "sqlite"
    assert links["scheduler"]["running"] is True and links["scheduler"]["jobs"] == 1
    assert links["telegram"]["polling"] is True
    assert links["meters"]["kos"]["keypad_online"] is True
    assert links["meters"]["rumah"]["keypad_online"] is False  # no keypad on that meter


def test_cektoken_answers_with_the_photo_value(system: System) -> None:
    """/cektoken rumah sends back the photo with the value the fixture shows."""
    system.api.send_text(OWNER, "/cektoken rumah")
    assert system.api.wait_until(lambda: bool(system.api.calls_of("sendPhoto", OWNER)), 30)
    (answer,) = system.api.calls_of("sendPhoto", OWNER)
    assert f"{format_kwh(system.check_photo.value)} kWh" in answer.text
    assert answer.files  # the photo itself
    latest = system.store().latest_reading("rumah")
    assert latest is not None and latest.kwh == system.check_photo.value
    assert latest.source == "telegram" and latest.status is ReadingStatus.OK


def test_topup_from_telegram_is_typed_once_and_confirmed(system: System) -> None:
    """/isi kos <token> and "Ya, isi": one keypad command, CONFIRMED with the credit."""
    api = system.api
    before = len(list(api.sent_messages(OWNER)))

    def prompts() -> list[ApiCall]:  # the scheduled report may arrive meanwhile
        new = list(api.sent_messages(OWNER))[before:]
        return [m for m in new if "Ya, isi" in str(m.params.get("reply_markup", ""))]

    api.send_text(OWNER, f"/isi kos {TELEGRAM_TOKEN}")
    assert api.wait_until(lambda: bool(prompts()), 20)
    confirm = prompts()[0]
    button = confirm.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Ya, isi"
    api.press(OWNER, confirm.message_id, button["callback_data"])
    assert api.wait_until(
        lambda: api.message(OWNER, confirm.message_id)["text"].startswith("Kos: ✅"), 40
    ), api.message(OWNER, confirm.message_id)["text"]
    digits = normalize_token(TELEGRAM_TOKEN)
    assert [c["keys"] for c in typed_commands(system)] == [digits]
    assert system.keypad.commands_pressed == 1 and system.meter.tokens_accepted == 1
    (topup,) = system.store().list_topups("kos")
    assert topup.source == "telegram" and topup.status is TopUpStatus.CONFIRMED
    assert topup.before == system.topup_photos[0].value
    assert topup.after == system.topup_photos[1].value
    assert mask_token(digits) in api.message(OWNER, confirm.message_id)["text"]


def test_topup_from_blynk_is_typed_once_and_confirmed(system: System) -> None:
    """A token written on V0 in the Blynk app: one keypad command, CONFIRMED on V3."""
    # V3 also shows the Telegram top-up; its last state reaches the Blynk server after the
    # Telegram message the previous test waited for, so wait for it before counting.
    assert wait_for(lambda: system.cloud.last("V3") == "CONFIRMED", 20), system.cloud.of("V3")
    shown_before = len(system.cloud.of("V3"))

    def shown() -> list[str]:
        return system.cloud.of("V3")[shown_before:]

    system.cloud.app_write("V0", BLYNK_TOKEN)
    assert wait_for(lambda: bool({"CONFIRMED", "UNCONFIRMED", "FAILED"} & set(shown())), 40)
    assert shown()[-1] == "CONFIRMED" and "SENT" in shown()
    typed = [c["keys"] for c in typed_commands(system)]
    assert typed == [normalize_token(TELEGRAM_TOKEN), normalize_token(BLYNK_TOKEN)]
    assert system.keypad.commands_pressed == 2 and system.meter.tokens_accepted == 2
    blynk = [t for t in system.store().list_topups("kos") if t.source == "blynk"]
    assert [t.status for t in blynk] == [TopUpStatus.CONFIRMED]
    assert blynk[0].after == system.topup_photos[2].value
    balance = f"{system.topup_photos[2].value:.2f}"
    # the notifier writes V3, then V1, then V2: the balance may come after the state
    assert wait_for(lambda: system.cloud.last("V2") == balance, 20), system.cloud.of("V2")


def test_schedule_set_a_minute_ahead_fires_once(system: System) -> None:
    """The slot set for the next minute checks the meter once and tells the owner."""
    wait = (system.slot_at - datetime.now(UTC)).total_seconds() + 3
    if wait > 0:
        time.sleep(wait)

    def scheduled() -> list[object]:
        return [r for r in system.store().last_readings("rumah", 20) if r.source == "schedule"]

    assert wait_for(lambda: len(scheduled()) >= 1, 30), system.service.output()
    # the report is sent once the reading is stored (on CheckCompleted): wait for it
    assert wait_for(lambda: len(system.api.calls_of("sendPhoto", OWNER)) >= 2, 20)
    time.sleep(2)  # a second run would come now, if there were one
    (reading,) = scheduled()
    assert reading.kwh == system.check_photo.value  # type: ignore[attr-defined]
    photos_sent = system.api.calls_of("sendPhoto", OWNER)
    assert len(photos_sent) == 2  # the /cektoken answer and the scheduled report


def test_sigterm_stops_within_5_s_without_traceback(system: System) -> None:
    """SIGTERM: exit 0 within 5 s, no traceback in the output, top-ups left as they were."""
    code = system.service.terminate()
    output = system.service.output()
    assert code == 0, output
    assert system.service.stop_seconds is not None and system.service.stop_seconds < 5.0
    assert "Traceback" not in output
    assert "SIGTERM received: stopping" in output and "service stopped" in output
    assert normalize_token(TELEGRAM_TOKEN) not in output  # tokens masked in the log
    statuses = [t.status for t in system.store().list_topups("kos")]
    assert statuses == [TopUpStatus.CONFIRMED, TopUpStatus.CONFIRMED]
