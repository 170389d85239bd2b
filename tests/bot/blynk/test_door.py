"""Tests for bot.blynk.door: tokens from the app (over real MQTT) through a TopUps service."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.blynk.door import BlynkDoor
from bot.blynk.mqtt_transport import BlynkMqttTransport
from tests.bot.blynk.conftest import (
    AUTH_TOKEN,
    METER,
    OTHER_TOKEN,
    VALID_TOKEN,
    BlynkCloudSide,
    StandInTopUps,
    eventually,
)
from tokenmeter.domain import TopUp, normalize_token
from tokenmeter.errors import StoreUnavailable
from tokenmeter.events import EventBus
from tokenmeter.texts import Lang, error_sentence

DIGITS = normalize_token(VALID_TOKEN)
THIRD_TOKEN = "55556666777788889999"


async def _start_door(
    cloud: BlynkCloudSide, topups: StandInTopUps, bus: EventBus, language: Lang = "id"
) -> BlynkDoor:
    transport = BlynkMqttTransport(
        host=cloud.broker.host, port=cloud.broker.port, auth_token=AUTH_TOKEN, tls=False
    )
    door = BlynkDoor(transport, topups, bus, meter_id=METER.id, language=language)
    await door.start()
    await eventually(lambda: transport.connected)
    return door


@pytest.fixture
async def topups(bus: EventBus) -> AsyncIterator[StandInTopUps]:
    """The stand-in top-up service."""
    yield StandInTopUps(bus)


@pytest.fixture
async def door(
    cloud: BlynkCloudSide, topups: StandInTopUps, bus: EventBus
) -> AsyncIterator[BlynkDoor]:
    """A started door on the MQTT transport."""
    started = await _start_door(cloud, topups, bus)
    yield started
    await started.stop()


async def test_token_from_app_is_topped_up_and_each_state_shown(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps
) -> None:
    """A V0 write starts one top-up (source blynk); V3/V1/V2 follow it to CONFIRMED."""
    cloud.app_write("V0", VALID_TOKEN)
    await eventually(lambda: cloud.last("V3") == "CONFIRMED")
    assert topups.typed == [DIGITS]
    assert topups.sources == ["blynk"]
    assert cloud.of("V3") == ["PENDING", "SENT", "CONFIRMED"]
    await eventually(lambda: "Berhasil" in (cloud.last("V1") or ""))
    assert cloud.last("V1") == (
        "Berhasil: token ****-****-****-****-7890 masuk. Tambah 25,00 kWh, sisa 37,50 kWh."
    )
    await eventually(lambda: cloud.last("V2") == "37.50")  # V2 follows V1
    assert cloud.of("V0") == [""]  # the digits are cleared from the Blynk server
    for text in cloud.of("V1"):
        assert DIGITS not in text and DIGITS[:10] not in text


async def test_repeated_write_does_not_start_a_second_topup(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps
) -> None:
    """The same value again (in flight, after, differently spaced) is ignored quietly."""
    topups.release.clear()  # hold the top-up at SENT
    cloud.app_write("V0", VALID_TOKEN)
    await eventually(lambda: cloud.last("V3") == "SENT")
    cloud.app_write("V0", VALID_TOKEN)  # app retry while in flight
    cloud.app_write("V0", DIGITS)  # reconnect sync of the same value
    cloud.app_write("V0", OTHER_TOKEN)  # a marker: processed after the repeats
    await eventually(lambda: len(topups.typed) == 2)
    topups.release.set()
    await eventually(lambda: cloud.of("V3").count("CONFIRMED") == 2)
    cloud.app_write("V0", VALID_TOKEN)  # after it finished
    cloud.app_write("V0", THIRD_TOKEN)  # marker
    await eventually(lambda: len(topups.typed) == 3)
    assert await door.enter_token(VALID_TOKEN) is None
    assert topups.typed == [DIGITS, normalize_token(OTHER_TOKEN), THIRD_TOKEN]
    assert "REJECTED" not in cloud.of("V3")


@pytest.mark.parametrize(
    ("value", "sentence"),
    [
        ("1234567890123456789", "Token harus 20 digit, yang dikirim 19 digit."),
        ("1234abcd901234567890", "Token hanya boleh berisi angka (20 digit)."),
        ("73786976294838206464", "Token tidak valid: nilainya di luar rentang token PLN (STS)."),
        ("99999999999999999999", "Token tidak valid: nilainya di luar rentang token PLN (STS)."),
    ],
)
async def test_invalid_tokens_are_refused_with_the_reason(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps, value: str, sentence: str
) -> None:
    """Bad tokens get the right sentence on V1, REJECTED on V3, and nothing is typed."""
    cloud.app_write("V0", value)
    await eventually(lambda: cloud.last("V3") == "REJECTED")
    await eventually(lambda: cloud.last("V1") == sentence)
    assert topups.typed == []


async def test_largest_sts_token_is_accepted(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps
) -> None:
    """2^66 - 1 (73786976294838206463) is a valid token and is typed."""
    cloud.app_write("V0", "73786976294838206463")
    await eventually(lambda: cloud.last("V3") == "CONFIRMED")
    assert topups.typed == ["73786976294838206463"]


async def test_already_used_token_is_refused(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps
) -> None:
    """A token already used through another door is refused on V1 and not typed again."""
    await topups.start(METER.id, VALID_TOKEN, source="telegram")
    await eventually(lambda: cloud.last("V3") == "CONFIRMED")  # shown: it is this meter's
    cloud.app_write("V0", VALID_TOKEN)
    await eventually(lambda: cloud.last("V3") == "REJECTED")
    shown = "Token ini sudah pernah dipakai untuk meter ini. Tidak diketik lagi."
    await eventually(lambda: cloud.last("V1") == shown)  # V1 follows V3
    assert topups.typed == [DIGITS]


async def test_english_status_texts(
    cloud: BlynkCloudSide, topups: StandInTopUps, bus: EventBus
) -> None:
    """language = en gives English sentences."""
    door = await _start_door(cloud, topups, bus, language="en")
    try:
        cloud.app_write("V0", "123")
        await eventually(lambda: cloud.last("V1") == "A token has 20 digits; this one has 3.")
    finally:
        await door.stop()


class _StoreDown(StandInTopUps):
    def __init__(self, bus: EventBus) -> None:
        super().__init__(bus)
        self.failures = 1

    async def start(self, meter_id: str, token: str, source: str) -> TopUp:
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("sqlite locked")
        return await super().start(meter_id, token, source)


async def test_service_failure_is_shown_and_a_retry_works(
    cloud: BlynkCloudSide, bus: EventBus
) -> None:
    """A top-up that could not start says so on V1 (ERROR) and the same value may be retried."""
    topups = _StoreDown(bus)
    door = await _start_door(cloud, topups, bus)
    try:
        assert await door.enter_token(VALID_TOKEN) is None
        await eventually(lambda: cloud.last("V3") == "ERROR")
        sentence = error_sentence(StoreUnavailable(), "id")
        await eventually(lambda: cloud.last("V1") == sentence)  # written after V3
        assert await door.enter_token(VALID_TOKEN) is not None
        await eventually(lambda: cloud.last("V3") == "CONFIRMED")
    finally:
        await door.stop()


async def test_writes_on_other_pins_and_empty_values_are_ignored(
    door: BlynkDoor, cloud: BlynkCloudSide, topups: StandInTopUps
) -> None:
    """Only the token datastream starts top-ups; a cleared field does nothing."""
    cloud.app_write("V1", VALID_TOKEN)
    cloud.app_write("V0", "")
    cloud.app_write("V0", OTHER_TOKEN)  # marker, processed last
    await eventually(lambda: cloud.last("V3") == "CONFIRMED")
    assert topups.typed == [normalize_token(OTHER_TOKEN)]


async def test_stopped_door_takes_no_more_tokens(
    cloud: BlynkCloudSide, topups: StandInTopUps, bus: EventBus
) -> None:
    """After stop() the device is disconnected and no write starts a top-up."""
    door = await _start_door(cloud, topups, bus)
    await door.stop()
    assert not door.transport.connected
    cloud.app_write("V0", VALID_TOKEN)
    await asyncio.sleep(0.3)
    assert topups.typed == []
