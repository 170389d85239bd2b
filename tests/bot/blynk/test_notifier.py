"""Tests for bot.blynk.notifier: events of one meter become pin writes."""

from __future__ import annotations

import pytest

from bot.blynk.notifier import BlynkNotifier, BlynkPins
from tokenmeter.domain import (
    DeviceStatus,
    Meter,
    Reading,
    ReadingStatus,
    TopUp,
    TopUpStatus,
    utcnow,
)
from tokenmeter.events import (
    CheckCompleted,
    CheckOutcome,
    DeviceChanged,
    MeterBeep,
    TopUpChanged,
)

METER = Meter("rumah", "Rumah")
PINS = BlynkPins(token="Token", status="Status", balance="Saldo", state="State")
OFFLINE = DeviceStatus("keypad", False, utcnow())


class Pins:
    """Records what the notifier writes, like a transport would send it."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []

    def write(self, pin: str, value: str) -> None:
        self.writes.append((pin, value))

    def of(self, pin: str) -> list[str]:
        return [value for p, value in self.writes if p == pin]


def _topup(status: TopUpStatus, topup_id: str = "t1", after: float | None = None) -> TopUp:
    topup = TopUp(
        id=topup_id,
        meter_id=METER.id,
        ts=utcnow(),
        masked="****-****-****-****-7890",
        hash="h",
        status=TopUpStatus.PENDING,
        source="blynk",
        before=10.0,
    )
    return topup if status is TopUpStatus.PENDING else topup.moved(status, after=after)


def _check(
    kwh: float | None, status: ReadingStatus = ReadingStatus.OK, source: str = "cli"
) -> CheckCompleted:
    reading = Reading("r", METER.id, utcnow(), kwh, str(kwh), 0.99, source, status)
    return CheckCompleted(CheckOutcome(METER, reading))


@pytest.fixture
def pins() -> Pins:
    """A pin recorder."""
    return Pins()


async def test_topup_states_go_to_state_status_and_balance(pins: Pins) -> None:
    """Each state lands on the state pin with its sentence; the new balance on the balance pin."""
    finals: list[TopUp] = []
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS, on_final=finals.append)
    for status in (TopUpStatus.PENDING, TopUpStatus.SENT):
        await notifier.notify(TopUpChanged(METER, _topup(status)))
    assert notifier.topup_in_progress
    await notifier.notify(TopUpChanged(METER, _topup(TopUpStatus.CONFIRMED, after=30.5)))
    assert pins.of("State") == ["PENDING", "SENT", "CONFIRMED"]
    assert pins.of("Status")[-1] == (
        "Berhasil: token ****-****-****-****-7890 masuk. Tambah 20,50 kWh, sisa 30,50 kWh."
    )
    assert pins.of("Saldo") == ["30.50"]
    assert [t.status for t in finals] == [TopUpStatus.CONFIRMED]
    assert not notifier.topup_in_progress


async def test_late_or_repeated_states_never_go_backwards(pins: Pins) -> None:
    """A PENDING arriving after SENT, or SENT twice, is not shown again."""
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS)
    notifier.show_topup(_topup(TopUpStatus.SENT))
    notifier.show_topup(_topup(TopUpStatus.PENDING))
    notifier.show_topup(_topup(TopUpStatus.SENT))
    notifier.show_topup(_topup(TopUpStatus.PENDING, topup_id="t2"))  # another top-up
    assert pins.of("State") == ["SENT", "PENDING"]
    assert notifier.shown_status("t1") is TopUpStatus.SENT


async def test_other_meters_and_other_events_are_ignored(pins: Pins) -> None:
    """Events of another meter (top-ups, checks, beeps, long offline) write nothing;
    a keypad merely going offline writes nothing either."""
    notifier = BlynkNotifier(pins.write, meter_id="kamar2", pins=PINS)
    await notifier.notify(TopUpChanged(METER, _topup(TopUpStatus.PENDING)))
    await notifier.notify(_check(50.0))
    await notifier.notify(MeterBeep("rumah"))
    await notifier.notify(DeviceChanged("rumah", OFFLINE, long_offline=True))
    await notifier.notify(DeviceChanged("kamar2", OFFLINE))
    assert pins.writes == []


async def test_beep_and_long_offline_of_its_meter_are_told_on_the_status_pin(
    pins: Pins,
) -> None:
    """The meter's beep and its keypad long offline each write a sentence to Status."""
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS)
    await notifier.notify(MeterBeep("rumah"))
    await notifier.notify(DeviceChanged("rumah", OFFLINE, long_offline=True))
    assert pins.writes == [
        ("Status", "Meter berbunyi: token hampir habis."),
        ("Status", "Keypad masih offline. Periksa daya dan Wi-Fi."),
    ]


async def test_checks_update_balance_and_status_when_no_topup_runs(pins: Pins) -> None:
    """An ok check writes the balance and a sentence; unreadable checks write nothing."""
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS, language="en")
    await notifier.notify(_check(1234.5))
    assert pins.writes == [("Saldo", "1234.50"), ("Status", "Balance: 1,234.50 kWh.")]
    await notifier.notify(_check(None, ReadingStatus.UNREADABLE))
    await notifier.notify(_check(99.0, ReadingStatus.UNVERIFIED))
    assert len(pins.writes) == 2


async def test_checks_during_a_topup_keep_its_status_sentence(pins: Pins) -> None:
    """While a top-up runs, a check updates only the balance, not the status sentence."""
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS)
    notifier.show_topup(_topup(TopUpStatus.SENT))
    before = pins.of("Status")
    await notifier.notify(_check(10.0, source="topup"))
    await notifier.notify(_check(11.0, source="schedule"))
    assert pins.of("Status") == before
    assert pins.of("Saldo") == ["10.00", "11.00"]


async def test_refusal_is_shown_on_state_and_status(pins: Pins) -> None:
    """show_refused writes REJECTED and the sentence."""
    notifier = BlynkNotifier(pins.write, meter_id="rumah", pins=PINS)
    notifier.show_refused("Token kosong.")
    assert pins.writes == [("State", "REJECTED"), ("Status", "Token kosong.")]
