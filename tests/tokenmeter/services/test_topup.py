"""Tests for tokenmeter.services.topup, end to end: core, simulated meter and keypad,
real mosquitto, SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

import ocr
from ocr.reading import Image
from tests.faults.topup_rig import new_device, start_core, told
from tests.tokenmeter.services.simkit import EventLog, eventually, sim_config, token
from tokenmeter.app import Core
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import (
    StatusChange,
    TopUp,
    TopUpStatus,
    mask_token,
    token_hash,
    utcnow,
)
from tokenmeter.errors import InvalidToken
from tokenmeter.events import Event, TopUpChanged
from tokenmeter.services.topup import TopUpService
from tokenmeter.sim.keypad_device import SimulatedKeypadDevice
from tokenmeter.sim.meter import token_credit


@dataclass
class Rig:
    core: Core
    events: EventLog
    broker_url: str

    @property
    def device(self) -> SimulatedKeypadDevice:
        return self.core.sim_devices[0]

    def statuses(self, topup_id: str) -> list[TopUpStatus]:
        return told(self.events, topup_id)


async def _start(tmp_path: Path, broker_url: str, key_time_scale: float = 0.01) -> Rig:
    config = sim_config(tmp_path, broker_url, result_timeout_s=15.0)
    core, events = await start_core(config, tmp_path, key_time_scale=key_time_scale)
    return Rig(core, events, broker_url)


@pytest.fixture
async def rig(tmp_path: Path, broker: LocalBroker) -> AsyncIterator[Rig]:
    made = await _start(tmp_path, broker.url)
    yield made
    await made.core.stop()


async def _stop_device(rig: Rig) -> None:
    rig.device.stop()
    assert await eventually(lambda: not rig.core.keypad.is_online("rumah"))


async def test_top_up_is_typed_and_confirmed(rig: Rig, tmp_path: Path) -> None:
    """PENDING → SENT → CONFIRMED with the credit the meter added; typed exactly once."""
    digits = token(1)
    started = await rig.core.topups.start("rumah", digits, "cli")
    assert started.status is TopUpStatus.PENDING and started.masked == mask_token(digits)
    final = await rig.core.topups.wait("rumah", started.id, 20)
    assert final.status is TopUpStatus.CONFIRMED
    assert final.credit is not None and abs(final.credit - token_credit(digits)) < 0.1
    assert [c.status for c in final.history] == [
        TopUpStatus.PENDING,
        TopUpStatus.SENT,
        TopUpStatus.CONFIRMED,
    ]
    assert rig.statuses(started.id) == [c.status for c in final.history]  # all published
    assert rig.device.meter.tokens_accepted == 1 and rig.device.commands_pressed == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("tm.db*"))
    assert digits.encode() not in stored


class SlowToTell:
    """A notifier that takes ``seconds`` over a confirmed top-up (a slow Telegram send)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.told: list[TopUpStatus] = []

    async def notify(self, event: Event) -> None:
        if isinstance(event, TopUpChanged):
            if event.topup.status is TopUpStatus.CONFIRMED:
                await asyncio.sleep(self.seconds)
            self.told.append(event.topup.status)


async def test_wait_returns_a_state_once_it_is_published(rig: Rig) -> None:
    """The store has CONFIRMED before the notifiers are told; wait() (which also looks
    at the store every second) returns it only after they were: a CLI that stops its
    core then loses no last line."""
    slow = SlowToTell(1.5)
    rig.core.bus.subscribe(slow)
    started = await rig.core.topups.start("rumah", token(4), "cli")
    final = await rig.core.topups.wait("rumah", started.id, 20)
    assert final.status is TopUpStatus.CONFIRMED
    assert slow.told[-1:] == [TopUpStatus.CONFIRMED]


async def test_balance_after_is_read_again_when_the_first_photo_fails(rig: Rig) -> None:
    """The display may still show a message just after typing: the next photo counts."""
    shown = rig.core.checks.reader
    refused = 0

    def first_after_refused(image: Image) -> ocr.Reading:
        nonlocal refused
        if rig.device.commands_pressed == 1 and refused == 0:
            refused += 1
            return ocr.Reading(status="unreadable", value=None, text="", confidence=0.0)
        return shown(image)

    rig.core.checks.reader = first_after_refused
    digits = token(7)
    started = await rig.core.topups.start("rumah", digits, "cli")
    final = await rig.core.topups.wait("rumah", started.id, 20)
    assert refused == 1
    assert final.status is TopUpStatus.CONFIRMED
    assert final.credit is not None and abs(final.credit - token_credit(digits)) < 0.1
    assert rig.device.commands_pressed == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1234567890123456789", "length"),
        ("1234-5678-9012-3456-789a", "not_digits"),
        ("73786976294838206464", "too_large"),
        ("", "empty"),
    ],
)
async def test_refusals_send_nothing(rig: Rig, raw: str, reason: str) -> None:
    """Bad tokens are refused with their reason; nothing stored, nothing sent."""
    with pytest.raises(InvalidToken) as err:
        await rig.core.topups.start("rumah", raw, "cli")
    assert err.value.reason == reason
    assert rig.core.store.list_topups("rumah") == []
    assert rig.device.commands_received == 0


async def test_used_token_is_refused(rig: Rig) -> None:
    """The same token twice (spaces and dashes aside) is refused the second time;
    check_token refuses it too, before anything is started."""
    digits = token(2)
    assert await rig.core.topups.check_token("rumah", digits) == digits
    first = await rig.core.topups.start("rumah", digits, "cli")
    await rig.core.topups.wait("rumah", first.id, 20)
    spaced = " ".join(digits[i : i + 4] for i in range(0, 20, 4))
    with pytest.raises(InvalidToken) as err:
        await rig.core.topups.start("rumah", spaced, "telegram")
    assert err.value.reason == "already_used"
    with pytest.raises(InvalidToken) as checked:
        await rig.core.topups.check_token("rumah", spaced)
    assert checked.value.reason == "already_used"
    assert len(rig.core.store.list_topups("rumah")) == 1
    assert rig.device.commands_pressed == 1  # besides it, only probes (nothing pressed)


async def test_queued_while_offline_then_sent_on_return(rig: Rig) -> None:
    """Keypad offline: QUEUED; when it comes back online the token is typed and confirmed."""
    await _stop_device(rig)
    started = await rig.core.topups.start("rumah", token(3), "blynk")
    queued = await rig.core.topups.wait("rumah", started.id, 10)
    assert queued.status is TopUpStatus.QUEUED and queued.error == "device_offline"
    device = new_device(rig.core, rig.broker_url)
    try:
        assert await eventually(
            lambda: (
                rig.core.store.get_topup("rumah", started.id).status  # type: ignore[union-attr]
                is TopUpStatus.CONFIRMED
            ),
            20,
        )
    finally:
        device.stop()
    assert device.commands_pressed == 1
    expected = [TopUpStatus.PENDING, TopUpStatus.QUEUED, TopUpStatus.SENT, TopUpStatus.CONFIRMED]
    # the store is written before the change is published: CONFIRMED may not be told yet
    assert await eventually(lambda: rig.statuses(started.id) == expected), rig.statuses(started.id)


async def test_queued_top_up_expires_and_can_be_entered_again(rig: Rig) -> None:
    """A queued token expires (owner told); entering it again revives the same record."""
    await _stop_device(rig)
    digits = token(4)
    started = await rig.core.topups.start("rumah", digits, "cli")
    await rig.core.topups.wait("rumah", started.id, 10)
    assert await rig.core.topups.expire_queued(utcnow() + timedelta(minutes=30)) == []
    expired = await rig.core.topups.expire_queued(utcnow() + timedelta(days=2))
    assert [t.id for t in expired] == [started.id]
    assert expired[0].status is TopUpStatus.EXPIRED and expired[0].error == "expired"
    assert rig.statuses(started.id)[-1] is TopUpStatus.EXPIRED
    assert await rig.core.topups.check_token("rumah", digits) == digits
    again = await rig.core.topups.start("rumah", digits, "cli")
    assert again.id == started.id and again.status is TopUpStatus.PENDING
    assert (await rig.core.topups.wait("rumah", again.id, 10)).status is TopUpStatus.QUEUED


async def test_restart_resumes_without_typing_twice(rig: Rig) -> None:
    """After a restart a SENT top-up is asked about with its own id (not re-typed) and
    settled; a PENDING one, whose digits are gone, expires so it can be entered again."""
    meter = rig.core.sim_meters["rumah"]
    digits, before = token(5), meter.kwh
    now = utcnow()
    sent = TopUp(
        "t-sent", "rumah", now, mask_token(digits), token_hash("rumah", digits),
        TopUpStatus.SENT, "cli", before=before,
        history=(StatusChange(TopUpStatus.PENDING, now), StatusChange(TopUpStatus.SENT, now)),
    )  # fmt: skip
    pending = TopUp(
        "t-pending", "rumah", now, mask_token(token(6)), token_hash("rumah", token(6)),
        TopUpStatus.PENDING, "cli", history=(StatusChange(TopUpStatus.PENDING, now),),
    )  # fmt: skip
    assert rig.core.store.create_topup(sent) and rig.core.store.create_topup(pending)
    rig.core.keypad.send("rumah", "t-sent", digits)  # typed before the "crash"
    assert await rig.core.keypad.result("rumah", "t-sent", 10) is not None
    await rig.core.topups.close()
    service = TopUpService(
        rig.core.config, rig.core.store, rig.core.keypad, rig.core.checks, rig.core.bus
    )
    rig.core.topups = service
    await service.open()
    settled = await service.wait("rumah", "t-sent", 20)
    assert settled.status is TopUpStatus.CONFIRMED
    assert settled.credit is not None and settled.credit > token_credit(digits) - 0.1
    lost = await service.wait("rumah", "t-pending", 5)
    assert lost.status is TopUpStatus.EXPIRED and lost.error == "token_not_kept"
    assert rig.device.commands_pressed == 1 and meter.tokens_accepted == 1


async def test_broker_restart_mid_top_up(tmp_path: Path, own_broker: LocalBroker) -> None:
    """The broker dies while keys are pressed and comes back: confirmed, typed once."""
    rig = await _start(tmp_path, own_broker.url, key_time_scale=0.06)
    try:
        meter = rig.core.sim_meters["rumah"]
        started = await rig.core.topups.start("rumah", token(7), "cli")
        assert await eventually(lambda: meter.keys_pressed >= 3, 15)
        own_broker.stop()
        assert await eventually(lambda: not rig.core.mqtt.connected, 5)
        own_broker.start()
        final = await rig.core.topups.wait("rumah", started.id, 40)
        assert final.status is TopUpStatus.CONFIRMED
        assert meter.keys_pressed == 21 and meter.tokens_accepted == 1
        assert rig.device.commands_pressed == 1
    finally:
        await rig.core.stop()
