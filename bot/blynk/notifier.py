"""Reflect top-ups, checks and alerts (the meter's beep, the keypad long offline) of one
meter onto the Blynk pins (status, balance, state)."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.blynk import texts
from tokenmeter.config import BlynkConfig
from tokenmeter.domain import FINAL_TOPUP_STATUSES, ReadingStatus, TopUp, TopUpStatus
from tokenmeter.events import CheckCompleted, DeviceChanged, Event, MeterBeep, TopUpChanged
from tokenmeter.texts import Lang

log = logging.getLogger(__name__)

PinWriter = Callable[[str, str], None]
"""``(pin, value)``: a transport's thread-safe ``write``."""

_RANK = {
    TopUpStatus.PENDING: 0,
    TopUpStatus.QUEUED: 1,
    TopUpStatus.SENT: 2,
}
_FINAL_RANK = 3
_REMEMBERED_TOPUPS = 64


@dataclass(frozen=True)
class BlynkPins:
    """Pin (legacy) or datastream (MQTT) names the door reads and writes."""

    token: str = "V0"
    status: str = "V1"
    balance: str = "V2"
    state: str = "V3"

    @staticmethod
    def from_config(config: BlynkConfig) -> BlynkPins:
        return BlynkPins(
            token=config.token_pin,
            status=config.status_pin,
            balance=config.balance_pin,
            state=config.state_pin,
        )


def _rank(status: TopUpStatus) -> int:
    return _FINAL_RANK if status in FINAL_TOPUP_STATUSES else _RANK.get(status, 0)


class BlynkNotifier:
    """A ``tokenmeter.events.Notifier`` that writes one meter's news to Blynk.

    A top-up's states only move forward on screen: an event that arrives late
    (or the record ``start`` returned) never overwrites a newer state.
    """

    def __init__(
        self,
        write: PinWriter,
        *,
        meter_id: str,
        pins: BlynkPins,
        language: Lang = "id",
        on_final: Callable[[TopUp], None] | None = None,
    ) -> None:
        self._write = write
        self._meter_id = meter_id
        self._pins = pins
        self._lang: Lang = language
        self._on_final = on_final
        self._shown: OrderedDict[str, TopUpStatus] = OrderedDict()

    @property
    def topup_in_progress(self) -> bool:
        """True while a top-up shown on this meter has not reached a final state."""
        return any(_rank(status) < _FINAL_RANK for status in self._shown.values())

    def shown_status(self, topup_id: str) -> TopUpStatus | None:
        """The state last shown for a top-up, if it is remembered."""
        return self._shown.get(topup_id)

    async def notify(self, event: Event) -> None:
        if isinstance(event, TopUpChanged) and event.meter.id == self._meter_id:
            self.show_topup(event.topup)
        elif isinstance(event, CheckCompleted) and event.outcome.meter.id == self._meter_id:
            self._show_check(event)
        elif isinstance(event, MeterBeep) and event.meter_id == self._meter_id:
            self._write(self._pins.status, texts.beep_text(self._lang))
        elif (
            isinstance(event, DeviceChanged)
            and event.meter_id == self._meter_id
            and event.long_offline
            and not event.device.online
        ):
            self._write(self._pins.status, texts.offline_text(self._lang))

    def show_topup(self, topup: TopUp) -> None:
        """Write a top-up's state (V3), sentence (V1) and new balance (V2) if it moved forward."""
        shown = self._shown.get(topup.id)
        if shown is not None and _rank(topup.status) <= _rank(shown):
            return
        self._shown[topup.id] = topup.status
        self._shown.move_to_end(topup.id)
        while len(self._shown) > _REMEMBERED_TOPUPS:
            self._shown.popitem(last=False)
        self._write(self._pins.state, topup.status.value)
        self._write(self._pins.status, texts.topup_status_text(topup, self._lang))
        if topup.after is not None:
            self._write(self._pins.balance, texts.balance_value(topup.after))
        log.info("Blynk shows top-up %s %s: %s", topup.id, topup.masked, topup.status.value)
        if topup.status in FINAL_TOPUP_STATUSES and self._on_final is not None:
            self._on_final(topup)

    def show_refused(self, sentence: str, state: str = texts.STATE_REJECTED) -> None:
        """Write a refusal (nothing typed) to V3 and V1."""
        self._write(self._pins.state, state)
        self._write(self._pins.status, sentence)

    def _show_check(self, event: CheckCompleted) -> None:
        reading = event.outcome.reading
        if reading.status is not ReadingStatus.OK or reading.kwh is None:
            return
        self._write(self._pins.balance, texts.balance_value(reading.kwh))
        if not self.topup_in_progress and reading.source != "topup":
            self._write(self._pins.status, texts.balance_text(reading.kwh, self._lang))
