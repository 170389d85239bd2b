"""End to end: a token typed in the Blynk app goes through the real Core (TopUpService,
store, keypad link, simulated meter and keypad over mosquitto) and the outcome comes back
to Blynk. Only the display reader is replaced (see ``_display_truth``)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

import ocr
from bot.blynk import BlynkDoor, build_blynk_door, texts
from ocr.reading import Image
from tests.bot.blynk.conftest import AUTH_TOKEN, BlynkCloudSide, eventually
from tests.mqtt_watch import TopicWatcher
from tokenmeter.app import Core, SimOptions, build_core
from tokenmeter.config import BlynkConfig, Config, MeterConfig, MqttConfig, StoreConfig
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import normalize_token
from tokenmeter.events import MeterBeep
from tokenmeter.sim.meter import SimulatedMeter

TOKEN = "1234-5678-9012-3456-7890"
OTHER_TOKEN = "11112222333344445555"


def _display_truth(meter: SimulatedMeter) -> Callable[[Image], ocr.Reading]:
    """A reader that reports what the simulated display shows.

    Stands in for ``ocr.read_display`` (built in parallel, not reading the simulator's
    photos yet) so this test is about the door and the top-up flow, not OCR.
    """

    def read(image: Image) -> ocr.Reading:
        text = meter.display_text()
        return ocr.Reading(status="ok", value=float(text), text=text, confidence=1.0)

    return read


def _config(broker: LocalBroker, tmp_path: Path, prefix: str) -> Config:
    config = Config(
        store=StoreConfig(sqlite_path=tmp_path / "tokenmeter.db", photo_dir=tmp_path / "photos"),
        mqtt=MqttConfig(url=broker.url, prefix=prefix),
        blynk=BlynkConfig(
            transport="mqtt",
            auth_token=SecretStr(AUTH_TOKEN),
            server=broker.host,
            port=broker.port,
            tls=False,
        ),
        meters=[MeterConfig(id="rumah", name="Rumah", camera_url="sim:")],
    )
    config.topup.settle_s = 0
    config.topup.result_timeout_s = 20
    return config


@contextlib.asynccontextmanager
async def _started(
    config: Config, broker: LocalBroker, tmp_path: Path, read_meter: str, watched: str
) -> AsyncIterator[tuple[Core, BlynkDoor, TopicWatcher]]:
    """The real Core (``read_meter``'s display read as it is shown), the Blynk door
    connected, and a watcher of the keypad commands of meter ``watched`` (``+``: all)."""
    watcher = TopicWatcher(broker, f"{config.mqtt.prefix}/{watched}/keypad/cmd")
    core = build_core(config, sim=SimOptions(key_time_scale=0.01, state_dir=tmp_path / "sim"))
    core.checks.reader = _display_truth(core.sim_meters[read_meter])
    await core.start()
    door = build_blynk_door(config, core.topups, core.bus)
    assert door is not None
    await door.start()
    await eventually(lambda: door.transport.connected)
    try:
        yield core, door, watcher
    finally:
        await door.stop()
        await core.stop()
        watcher.stop()


@pytest.fixture
async def running(
    broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[tuple[Core, BlynkDoor, TopicWatcher]]:
    """The real Core with a simulated meter, the Blynk door on MQTT and a keypad watcher."""
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    config = _config(broker, tmp_path, prefix)
    async with _started(config, broker, tmp_path, "rumah", "rumah") as parts:
        yield parts


async def test_token_from_blynk_is_typed_once_and_confirmed(
    running: tuple[Core, BlynkDoor, TopicWatcher], cloud: BlynkCloudSide
) -> None:
    """Blynk V0 → one keypad command → CONFIRMED with the credit on V3/V1/V2; a repeat and
    invalid tokens type nothing more."""
    core, door, watcher = running
    cloud.app_write("V0", TOKEN)
    await eventually(lambda: cloud.last("V3") in {"CONFIRMED", "UNCONFIRMED", "FAILED"}, 60)
    assert cloud.last("V3") == "CONFIRMED"
    assert watcher.keys() == [normalize_token(TOKEN)]
    assert "SENT" in cloud.of("V3")
    success = "Berhasil: token ****-****-****-****-7890 masuk. Tambah "
    await eventually(lambda: (cloud.last("V1") or "").startswith(success))  # V1 follows V3
    topups = core.store.list_topups("rumah", None)
    assert [(t.source, t.status.value) for t in topups] == [("blynk", "CONFIRMED")]
    await eventually(lambda: cloud.last("V2") == f"{topups[0].after:.2f}")  # V2 follows V1

    cloud.app_write("V0", TOKEN)  # app retry / reconnect sync: ignored by the door
    cloud.app_write("V0", "1234567890123456789")  # 19 digits
    await eventually(lambda: cloud.last("V3") == "REJECTED")
    shown = "Token harus 20 digit, yang dikirim 19 digit."
    await eventually(lambda: cloud.last("V1") == shown)  # V1 follows V3
    assert await door.enter_token("73786976294838206464") is None  # > 2^66 - 1
    await eventually(
        lambda: cloud.last("V1") == "Token tidak valid: nilainya di luar rentang token PLN (STS)."
    )
    assert watcher.keys() == [normalize_token(TOKEN)]


async def test_token_already_used_elsewhere_is_refused_on_blynk(
    running: tuple[Core, BlynkDoor, TopicWatcher], cloud: BlynkCloudSide
) -> None:
    """A token first entered from the CLI is refused when written in the app; typed once."""
    core, _door, watcher = running
    first = await core.topups.start("rumah", OTHER_TOKEN, "cli")
    await core.topups.wait("rumah", first.id, 30)
    await eventually(lambda: cloud.last("V3") == "CONFIRMED")  # Blynk shows it too
    cloud.app_write("V0", OTHER_TOKEN)
    await eventually(lambda: cloud.last("V3") == "REJECTED")
    shown = "Token ini sudah pernah dipakai untuk meter ini. Tidak diketik lagi."
    await eventually(lambda: cloud.last("V1") == shown)  # V1 follows V3
    assert watcher.keys() == [OTHER_TOKEN]


@pytest.fixture
async def two_rooms(
    broker: LocalBroker, tmp_path: Path
) -> AsyncIterator[tuple[Core, BlynkDoor, TopicWatcher]]:
    """Two rooms; the Blynk device is bound to Kamar 1 (``blynk.meter``)."""
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    config = _config(broker, tmp_path, prefix)
    config.meters = [
        MeterConfig(id="kamar1", name="Kamar 1", camera_url="sim:"),
        MeterConfig(id="kamar2", name="Kamar 2", camera_url="sim:"),
    ]
    config.blynk.meter = "kamar1"
    async with _started(config, broker, tmp_path, "kamar1", "+") as parts:  # kamar2: unread
        yield parts


async def test_a_blynk_device_sees_and_tops_up_only_its_room(
    two_rooms: tuple[Core, BlynkDoor, TopicWatcher], cloud: BlynkCloudSide
) -> None:
    """Another room's top-up and check write nothing to the device's pins; a token
    written in the app goes to the device's room only."""
    core, _door, watcher = two_rooms
    other = await core.topups.start("kamar2", OTHER_TOKEN, "cli")
    await core.topups.wait("kamar2", other.id, 30)
    await core.bus.publish(MeterBeep("kamar2"))
    cloud.app_write("V0", TOKEN)
    await eventually(lambda: cloud.last("V3") in {"CONFIRMED", "UNCONFIRMED", "FAILED"}, 60)
    assert [t.source for t in core.store.list_topups("kamar1", None)] == ["blynk"]
    assert [t.source for t in core.store.list_topups("kamar2", None)] == ["cli"]
    assert "****-****-****-****-5555" not in " ".join(cloud.of("V1"))  # kamar2's token
    assert texts.beep_text("id") not in cloud.of("V1")
    assert cloud.of("V3").count("CONFIRMED") <= 1 and "UNCONFIRMED" not in cloud.of("V3")
    typed = watcher.keys()
    assert len(typed) == 2 and set(typed) == {OTHER_TOKEN, normalize_token(TOKEN)}
