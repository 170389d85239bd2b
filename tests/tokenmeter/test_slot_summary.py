"""Tests for tokenmeter.slot_summary: the summary text and the batching of a slot's events."""

from __future__ import annotations

import asyncio

from tokenmeter.domain import Meter, Reading, ReadingStatus, new_id, utcnow
from tokenmeter.events import (
    CheckCompleted,
    CheckOutcome,
    Event,
    LowBalance,
    MeterBeep,
    SlotSummary,
)
from tokenmeter.slot_summary import MAX_LISTED, SlotBatcher, attention_list, summary_text


def outcome(
    name: str,
    kwh: float | None,
    *,
    status: ReadingStatus = ReadingStatus.OK,
    days: float | None = None,
    source: str = "schedule",
    low_kwh: float = 10.0,
) -> CheckOutcome:
    meter = Meter(name.lower().replace(" ", "-"), name, low_kwh=low_kwh)
    reading = Reading(new_id("r"), meter.id, utcnow(), kwh, "", 0.9, source, status)
    low = kwh is not None and status is ReadingStatus.OK and kwh < low_kwh
    return CheckOutcome(meter, reading, days_left=days, low=low, photo=b"jpeg")


def kamar(n: int, kwh: float = 50.0) -> CheckOutcome:
    return outcome(f"Kamar {n}", kwh, days=12.0)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    async def notify(self, event: Event) -> None:
        self.events.append(event)


def test_summary_names_only_the_meters_that_need_attention() -> None:
    """28 OK, one low and one unreadable: one line in the issue's words."""
    outcomes = [kamar(n) for n in range(1, 29)]
    outcomes.insert(5, outcome("Kamar 17", None, status=ReadingStatus.UNREADABLE))
    outcomes.insert(9, outcome("Kamar 3", 4.1, days=1.2))
    text = summary_text(SlotSummary(tuple(outcomes)))
    assert text == (
        "⚠️ Cek terjadwal · 28 meter OK, 1 di bawah batas, 1 gagal dicek: "
        "Kamar 3 (4,1 kWh ±1 hari), Kamar 17 (tidak terbaca)"
    )


def test_summary_in_english_and_all_well() -> None:
    """English words and decimal point; a slot with nothing wrong is one short line."""
    low = outcome("Room 3", 1234.5, days=0.4, low_kwh=2000.0)
    camera = outcome("Room 9", None, status=ReadingStatus.CAMERA_ERROR)
    text = summary_text(SlotSummary((kamar(1), low, camera)), "en")
    assert text == (
        "⚠️ Scheduled check · 1 meter(s) OK, 1 under the threshold, 1 not checked: "
        "Room 3 (1,234.5 kWh ±0 days), Room 9 (camera not answering)"
    )
    assert summary_text(SlotSummary((kamar(1), kamar(2)))) == "Cek terjadwal · 2 meter OK."


def test_most_urgent_first_and_a_long_list_is_cut() -> None:
    """Low meters by days left come before failed checks; past MAX_LISTED the rest is counted."""
    items = attention_list(
        [
            outcome("A", None, status=ReadingStatus.UNREADABLE),
            outcome("B", 8.0, days=5.0),
            outcome("C", 9.0, days=0.5),
            outcome("D", 3.0, status=ReadingStatus.UNVERIFIED),
        ]
    )
    assert [i.outcome.meter.name for i in items] == ["C", "B", "A", "D"]
    many = tuple(outcome(f"K{n}", 1.0, days=n) for n in range(MAX_LISTED + 5))
    text = summary_text(SlotSummary(many))
    assert text.endswith("K39 (1,0 kWh ±39 hari), dan 5 lainnya")


async def test_a_slot_of_many_meters_becomes_one_summary() -> None:
    """Scheduled outcomes (and their low alerts) of a slot reach the notifier as one summary;
    other events pass at once."""
    recorder = Recorder()
    batcher = SlotBatcher(recorder, settle_s=0.1, poll_s=0.02)
    low = outcome("Kamar 3", 4.0, days=1.0)
    for item in (kamar(1), kamar(2), kamar(4), low):
        await batcher.notify(CheckCompleted(item, scheduled=True))
    await batcher.notify(LowBalance(low))
    await batcher.notify(MeterBeep("kamar-1"))
    assert [type(e) for e in recorder.events] == [MeterBeep]
    await asyncio.sleep(0.3)
    summary = recorder.events[-1]
    assert isinstance(summary, SlotSummary) and len(recorder.events) == 2
    assert len(summary.outcomes) == 4 and summary.low_crossed == {"kamar-3"}
    assert batcher.summaries == 1


async def test_auto_releases_a_small_slot_as_per_meter_events() -> None:
    """Under summary_from meters, 'auto' hands over the events themselves."""
    recorder = Recorder()
    batcher = SlotBatcher(recorder, settle_s=0.05, poll_s=0.01, summary_from=4)
    first = CheckCompleted(kamar(1), scheduled=True)
    asked = CheckCompleted(outcome("Kamar 2", 30.0, source="telegram"))
    await batcher.notify(first)
    await batcher.notify(asked)
    assert recorder.events == [asked]  # a check somebody asked for is not held
    await asyncio.sleep(0.2)
    assert recorder.events == [asked, first] and batcher.summaries == 0


async def test_per_meter_mode_and_summary_mode() -> None:
    """'per_meter' holds nothing; 'summary' summarises even a slot of one meter."""
    recorder = Recorder()
    event = CheckCompleted(kamar(1), scheduled=True)
    await SlotBatcher(recorder, mode="per_meter").notify(event)
    assert recorder.events == [event]
    summary = SlotBatcher(recorder, mode="summary", settle_s=0.05, poll_s=0.01)
    await summary.notify(event)
    await asyncio.sleep(0.2)
    assert isinstance(recorder.events[-1], SlotSummary)


async def test_waits_while_the_slot_is_still_running() -> None:
    """While ``busy`` says checks run, the batch is held (up to max_wait_s); stop flushes."""
    recorder = Recorder()
    running = True
    batcher = SlotBatcher(
        recorder, busy=lambda: running, settle_s=0.01, poll_s=0.01, max_wait_s=5.0
    )
    for n in range(5):
        await batcher.notify(CheckCompleted(kamar(n), scheduled=True))
    await asyncio.sleep(0.1)
    assert recorder.events == []
    running = False
    await asyncio.sleep(0.1)
    assert len(recorder.events) == 1
    await batcher.notify(CheckCompleted(kamar(9), scheduled=True))
    await batcher.stop()
    assert len(recorder.events) == 2  # the one held was handed over at stop


async def test_max_wait_cuts_a_slot_that_never_settles() -> None:
    """A slot still busy after max_wait_s is summarised anyway."""
    recorder = Recorder()
    batcher = SlotBatcher(
        recorder, mode="summary", busy=lambda: True, settle_s=0.01, poll_s=0.01, max_wait_s=0.1
    )
    await batcher.notify(CheckCompleted(kamar(1), scheduled=True))
    await asyncio.sleep(0.3)
    assert len(recorder.events) == 1
