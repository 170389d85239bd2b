"""Tests for tokenmeter.services.device_alerts: episodes, with stand-in links (the
whole path through a broker and the three doors is in tests/faults/test_device_alerts.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from tests.tokenmeter.services.simkit import EventLog, sim_config
from tokenmeter.devices.keypad import KeypadLink
from tokenmeter.devices.mqtt import MessageHandler, MqttLink
from tokenmeter.domain import DeviceStatus, Meter, TopUp, TopUpStatus, utcnow
from tokenmeter.events import DeviceChanged, EventBus, MeterBeep, TopUpChanged
from tokenmeter.services import device_alerts
from tokenmeter.services.device_alerts import DeviceAlerts


class StandInLinks:
    """Records the event handler and the status listener; says whether it is offline."""

    def __init__(self) -> None:
        self.on_event: MessageHandler | None = None
        self.listener: Any = None
        self.offline = False

    def subscribe(self, meter_id: str, leaf: str, handler: MessageHandler) -> None:
        self.on_event = handler

    def on_status(self, listener: Any) -> None:
        self.listener = listener

    def known_offline(self, meter_id: str) -> bool:
        return self.offline


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.fixture
async def rig(tmp_path: Path) -> Any:
    links = StandInLinks()
    bus, events = EventBus(), EventLog()
    bus.subscribe(events)
    config = sim_config(tmp_path, "mqtt://127.0.0.1:1")
    alerts = DeviceAlerts(config, cast(MqttLink, links), cast(KeypadLink, links), bus)
    alerts.start()
    yield links, bus, events
    await alerts.stop()


async def test_a_confirmed_top_up_ends_the_beep_episode(rig: Any) -> None:
    """Beeps in a row are one alert; after a confirmed top-up the next beep is a new one;
    a beep of an unknown meter, or another event type, is no alert."""
    links, bus, events = rig
    for _ in range(3):
        links.on_event("rumah", "event", {"type": "beep", "rtc": "r"})
    links.on_event("gudang", "event", {"type": "beep"})
    links.on_event("rumah", "event", {"type": "rtc_check"})
    await _settle()
    assert events.of(MeterBeep) == [MeterBeep("rumah", "r")]
    topup = TopUp("t1", "rumah", utcnow(), "m", "h", TopUpStatus.CONFIRMED, "cli")
    await bus.publish(TopUpChanged(Meter("rumah", "Rumah"), topup))
    links.on_event("rumah", "event", {"type": "beep"})
    await _settle()
    assert len(events.of(MeterBeep)) == 2


async def test_offline_alert_once_per_episode_and_not_after_return(
    rig: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline past the limit: one alert despite repeated "offline"; back online before
    the limit: none."""
    monkeypatch.setattr(device_alerts, "SECONDS_PER_MINUTE", 0.05)  # 10 min = 0.5 s
    links, _, events = rig
    away, back = DeviceStatus("keypad", False, utcnow()), DeviceStatus("keypad", True, utcnow())
    links.offline = True
    await links.listener("rumah", away)
    await asyncio.sleep(0.3)
    await links.listener("rumah", away)
    await asyncio.sleep(0.9)
    assert [e.long_offline for e in events.of(DeviceChanged)] == [True]
    links.offline = False
    await links.listener("rumah", back)
    links.offline = True
    await links.listener("rumah", away)
    await asyncio.sleep(0.2)
    links.offline = False
    await links.listener("rumah", back)
    await asyncio.sleep(0.6)
    assert len(events.of(DeviceChanged)) == 1
