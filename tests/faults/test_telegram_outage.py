"""Faults: a Bot API that hangs or fails while the service runs (real mosquitto, real HTTP).

Telegram being away must cost a top-up nothing: the keypad command of a Blynk top-up
goes out as fast as with Telegram up, and the top-up is confirmed, while every send
to the Bot API hangs. Polling that fails must show on ``/healthz`` (503, status
``degraded``, the last error), and clear once Telegram answers again. A reply to a
command that cannot be sent during an outage is sent when it ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from tests.bot.blynk.conftest import BlynkCloudSide
from tests.faults.conftest import OWNER, healthz, read_shown, service_config
from tests.mqtt_watch import TopicWatcher
from tests.servers.telegram_api import FakeBotApi
from tests.tokenmeter.services.simkit import eventually
from tokenmeter.app import SimOptions
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import TopUpStatus
from tokenmeter.service import Service, build_service

TOKEN = "12345678901234567890"
COMMAND_WITHIN_S = 5.0  # a keypad command normally goes out in well under a second


async def _healthz_until(
    port: int, wanted: Callable[[int, dict[str, object]], bool], timeout: float
) -> tuple[int, dict[str, object]]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body = await healthz(port)
        if wanted(status, body) or asyncio.get_running_loop().time() > deadline:
            return status, body
        await asyncio.sleep(0.2)


def _typed(commands: TopicWatcher) -> list[object]:
    """The keys of every keypad command seen."""
    return [message.get("keys") for message in commands.all()]


def _service(tmp_path: Path, broker: LocalBroker, api: FakeBotApi, *, blynk: bool) -> Service:
    config = service_config(tmp_path, broker, api=api, blynk=blynk)
    return read_shown(build_service(config, sim=SimOptions(key_time_scale=0.01)))


async def test_a_hanging_bot_api_does_not_hold_up_a_blynk_top_up(
    tmp_path: Path, broker: LocalBroker, api: FakeBotApi
) -> None:
    """Every Bot API request hangs: a token written in Blynk reaches the keypad within
    seconds (it waited 40 s behind two notification sends) and is confirmed."""
    service = _service(tmp_path, broker, api, blynk=True)
    core = service.core
    await service.start()
    cloud = BlynkCloudSide(broker).start()
    commands = TopicWatcher(broker, core.mqtt.topic("rumah", "keypad/cmd"))
    try:
        assert service.telegram is not None and service.blynk is not None
        telegram, transport = service.telegram, service.blynk.transport
        assert await eventually(lambda: telegram.polling, 15)
        assert await asyncio.to_thread(transport.wait_connected, 10)
        assert await eventually(lambda: core.keypad.is_online("rumah"), 10)
        api.hang()
        began = time.monotonic()
        cloud.app_write("V0", TOKEN)
        assert await eventually(lambda: TOKEN in _typed(commands), COMMAND_WITHIN_S), (
            f"no keypad command {COMMAND_WITHIN_S:.0f} s after the token, "
            f"{len(api.calls)} Bot API calls made"
        )
        elapsed = time.monotonic() - began
        (topup,) = core.store.list_topups("rumah")
        done = await core.topups.wait("rumah", topup.id, 20)
        assert done.status is TopUpStatus.CONFIRMED, (done.status, done.error)
        assert elapsed < COMMAND_WITHIN_S
        assert [c for c in api.calls if c.method == "sendMessage" and not c.ok], (
            "the Bot API was never tried: the test did not test a hang"
        )
    finally:
        api.recover()
        commands.stop()
        cloud.stop()
        await service.stop()


async def test_failing_polling_shows_on_healthz_and_clears(
    tmp_path: Path, broker: LocalBroker, api: FakeBotApi
) -> None:
    """getUpdates answered 502 again and again: /healthz turns 503 with status
    "degraded" and the error; when Telegram answers again, a command is answered and
    /healthz is 200 "ok"."""
    service = _service(tmp_path, broker, api, blynk=False)
    await service.start()
    try:
        assert service.health is not None and service.telegram is not None
        port, telegram = service.health.port, service.telegram
        assert await eventually(lambda: telegram.polling, 15)
        status, body = await _healthz_until(port, lambda code, _: code == 200, 10)
        assert status == 200, body
        api.fail(502)
        status, body = await _healthz_until(port, lambda code, _: code == 503, 20)
        links = body["links"]
        assert isinstance(links, dict)
        assert status == 503 and body["ok"] is False, body
        assert body.get("status") == "degraded", body
        assert links["telegram"]["ok"] is False and links["telegram"]["failures"] >= 3
        assert "Bad Gateway" in links["telegram"]["error"]
        assert links["mqtt"]["ok"] is True and links["store"]["ok"] is True
        api.recover()
        api.send_text(OWNER, "/status")
        assert await api.until(lambda: bool(list(api.sent_messages(OWNER))), 40), (
            "a command sent after the outage was never answered"
        )
        status, body = await _healthz_until(port, lambda code, _: code == 200, 10)
        assert status == 200 and body.get("status") == "ok", body
    finally:
        api.recover()
        await service.stop()


async def test_a_reply_that_fails_in_an_outage_is_sent_when_it_ends(
    tmp_path: Path, broker: LocalBroker, api: FakeBotApi
) -> None:
    """A command is fetched, then every send is answered 502: the reply is tried again
    through the outage, not lost, and reaches the chat once Telegram answers."""
    service = _service(tmp_path, broker, api, blynk=False)
    await service.start()
    try:
        assert service.telegram is not None
        telegram = service.telegram
        assert await eventually(lambda: telegram.polling, 15)
        api.fail(502, "sendMessage")
        api.send_text(OWNER, "/status")

        def failed() -> int:
            return len([c for c in api.calls if c.method == "sendMessage" and not c.ok])

        assert await api.until(lambda: failed() >= 2, 20), "the reply was not tried again"
        assert list(api.sent_messages(OWNER)) == []
        api.recover()
        assert await api.until(lambda: bool(list(api.sent_messages(OWNER))), 30), (
            "the reply to a command fetched during the outage was lost"
        )
    finally:
        api.recover()
        await service.stop()
