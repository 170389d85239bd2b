"""What the doors (Telegram, Blynk, CLI) and the scheduler call. Implemented by
``CheckService`` and ``TopUpService``; the doors depend on these protocols only."""

from __future__ import annotations

from typing import Protocol

from tokenmeter.domain import TopUp
from tokenmeter.events import CheckOutcome


class Checker(Protocol):
    async def check(self, meter_id: str, source: str) -> CheckOutcome:
        """Photograph and read a meter now; store and publish the outcome.

        Never raises for camera/OCR failures: the outcome's reading says what
        happened (``status`` / ``error``). Raises UnknownMeter for a bad id.
        """
        ...


class TopUps(Protocol):
    async def start(self, meter_id: str, token: str, source: str) -> TopUp:
        """Validate (raises InvalidToken), store PENDING, and start the top-up in the
        background. Returns the stored record at once; every status change is
        stored and published as a ``TopUpChanged`` event."""
        ...

    async def check_token(self, meter_id: str, token: str) -> str:
        """Return the token's 20 digits, or raise InvalidToken when ``start`` would refuse
        it (bad form, or already used on this meter). Starts nothing: a door calls it
        before asking the user to confirm."""
        ...

    async def wait(self, meter_id: str, topup_id: str, timeout: float) -> TopUp:
        """Wait until the top-up reaches a final status (or QUEUED), or ``timeout``."""
        ...
