"""The stages of ``tokenmeter topup`` as it runs, one line each, as Telegram shows them.

A top-up takes a while (a photo before, about 12 s of typing, a settle and a photo
after), so the command says what it is doing instead of staying silent: the balance
being read before, the token being typed, the balance read after. The final result
is the command's own line.
"""

from __future__ import annotations

from collections.abc import Callable

from tokenmeter.console import check_line
from tokenmeter.domain import ReadingStatus, TopUpStatus
from tokenmeter.events import CheckCompleted, Event, TopUpChanged
from tokenmeter.texts import Lang, format_kwh, topup_no_answer

TOPUP_SOURCE = "topup"  # the source of the checks a top-up makes

_WORDS: dict[str, dict[Lang, str]] = {
    "pending": {
        "id": "[{meter}] Token {masked} dicatat. Membaca saldo awal…",
        "en": "[{meter}] Token {masked} recorded. Reading the balance first…",
    },
    "before": {
        "id": "[{meter}] Saldo awal {kwh} kWh.",
        "en": "[{meter}] Balance before {kwh} kWh.",
    },
    "sent": {
        "id": "[{meter}] Token {masked} sedang diketik di meter, lalu saldo dibaca lagi…",
        "en": "[{meter}] Token {masked} is being typed on the meter; then the balance is "
        "read again…",
    },
    "after": {
        "id": "[{meter}] Saldo sesudah {kwh} kWh.",
        "en": "[{meter}] Balance after {kwh} kWh.",
    },
}


class TopUpStages:
    """A ``Notifier`` that prints the stages of the top-ups of one meter."""

    def __init__(self, meter_id: str, lang: Lang, say: Callable[[str], None]) -> None:
        self.meter_id = meter_id
        self.lang = lang
        self.say = say
        self._typing = False  # the token was sent: the next checks read the balance after

    async def notify(self, event: Event) -> None:
        if isinstance(event, TopUpChanged) and event.meter.id == self.meter_id:
            self._topup_changed(event)
        elif (
            isinstance(event, CheckCompleted)
            and event.outcome.meter.id == self.meter_id
            and event.outcome.reading.source == TOPUP_SOURCE
        ):
            self._balance_read(event)

    def _topup_changed(self, event: TopUpChanged) -> None:
        topup, name = event.topup, event.meter.name
        if topup.status is TopUpStatus.PENDING:
            self._typing = False
            self.say(_WORDS["pending"][self.lang].format(meter=name, masked=topup.masked))
        elif topup.status is TopUpStatus.SENT and topup.error == "no_answer":
            self.say(topup_no_answer(topup.masked, self.lang))
        elif topup.status is TopUpStatus.SENT:
            self._typing = True
            self.say(_WORDS["sent"][self.lang].format(meter=name, masked=topup.masked))

    def _balance_read(self, event: CheckCompleted) -> None:
        reading, name = event.outcome.reading, event.outcome.meter.name
        if reading.status is not ReadingStatus.OK or reading.kwh is None:
            self.say(check_line(event.outcome, self.lang))  # why it was not read, in words
            return
        key = "after" if self._typing else "before"
        self.say(_WORDS[key][self.lang].format(meter=name, kwh=format_kwh(reading.kwh, self.lang)))
