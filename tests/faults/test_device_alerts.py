"""Faults: the meter beeps and the keypad goes away (real mosquitto, the simulated
keypad, the Telegram, Blynk and console doors of a running service).

Each alert must reach all three doors once per episode: three beeps in a row are one
alert, a beep after a quiet spell is a new one; a keypad offline longer than
``offline_alert_minutes`` is one alert however long it stays away, and a new one
after it came back and went away again. Minutes are seconds here.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from tests.bot.blynk.conftest import BlynkCloudSide
from tests.faults.conftest import OWNER, read_shown, service_config
from tests.faults.topup_rig import new_device
from tests.servers.telegram_api import FakeBotApi
from tests.tokenmeter.services.simkit import eventually
from tokenmeter.app import SimOptions
from tokenmeter.console import ConsoleNotifier
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.service import Service, build_service

QUIET_S = 1.5  # a beep after this long without one is a new episode (1 h in service)


@pytest.fixture(autouse=True)
def minutes_are_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenmeter.services import device_alerts

    monkeypatch.setattr(device_alerts, "SECONDS_PER_MINUTE", 1.0)
    monkeypatch.setattr(device_alerts, "BEEP_QUIET_S", QUIET_S)


class Doors:
    """What each door told, as counts of one alert's sentences."""

    def __init__(self, api: FakeBotApi, cloud: BlynkCloudSide, console: io.StringIO) -> None:
        self.api, self.cloud, self.console = api, cloud, console

    def counts(self, telegram: str, blynk: str, console: str) -> tuple[int, int, int]:
        return (
            sum(telegram in call.text for call in self.api.sent_messages(OWNER)),
            sum(blynk in value for value in self.cloud.of("V1")),
            sum(console in line for line in self.console.getvalue().splitlines()),
        )

    def beeps(self) -> tuple[int, int, int]:
        return self.counts("berbunyi", "berbunyi", "berbunyi")

    def offline(self) -> tuple[int, int, int]:
        return self.counts("offline lebih dari", "offline", "masih offline")


def _service(tmp_path: Path, broker: LocalBroker, api: FakeBotApi, console: io.StringIO) -> Service:
    config = service_config(tmp_path, broker, api=api, blynk=True)
    config.telegram.offline_alert_minutes = 1
    service = build_service(
        config, sim=SimOptions(key_time_scale=0.01), notifiers=[ConsoleNotifier(stream=console)]
    )
    return read_shown(service)


async def test_beep_and_offline_alerts_reach_every_door_once_per_episode(
    tmp_path: Path, broker: LocalBroker, api: FakeBotApi
) -> None:
    """Beeps: one alert per episode in Telegram, Blynk and the console. Keypad away
    past the limit: one alert per episode in each door, again after it came back."""
    console = io.StringIO()
    service = _service(tmp_path, broker, api, console)
    core = service.core
    await service.start()
    cloud = BlynkCloudSide(broker).start()
    doors = Doors(api, cloud, console)
    second = None
    try:
        assert service.telegram is not None and service.blynk is not None
        telegram, transport = service.telegram, service.blynk.transport
        assert await eventually(lambda: telegram.polling, 15)
        assert await asyncio.to_thread(transport.wait_connected, 10)
        assert await eventually(lambda: core.keypad.is_online("rumah"))
        device = core.sim_devices[0]

        for _ in range(3):  # the meter keeps beeping: one episode
            device.link.publish("rumah", "event", {"type": "beep", "rtc": "x"}).wait_for_publish(5)
            await asyncio.sleep(0.2)
        assert await eventually(lambda: doors.beeps() == (1, 1, 1)), doors.beeps()
        await asyncio.sleep(QUIET_S + 0.5)
        assert doors.beeps() == (1, 1, 1), "a beep of the same episode was told again"
        device.link.publish("rumah", "event", {"type": "beep", "rtc": "y"}).wait_for_publish(5)
        assert await eventually(lambda: doors.beeps() == (2, 2, 2)), doors.beeps()

        device.stop()  # away: its goodbye says offline
        assert await eventually(lambda: doors.offline() == (1, 1, 1)), doors.offline()
        await asyncio.sleep(2.5)  # more than two more alert periods
        assert doors.offline() == (1, 1, 1), "the same offline episode was told again"

        second = new_device(core, broker.url)
        assert await eventually(lambda: core.keypad.is_online("rumah"))
        await asyncio.sleep(0.2)
        second.stop()
        assert await eventually(lambda: doors.offline() == (2, 2, 2)), doors.offline()
    finally:
        cloud.stop()
        await service.stop()
