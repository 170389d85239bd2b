"""Is a new balance believable after the last one? Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tokenmeter.domain import Reading

MAX_DISPLAY_KWH = 99999.99
# The display shows two decimals and readings are taken seconds apart: allow a
# small slack either way before calling a change impossible.
SLACK_KWH = 0.05


@dataclass(frozen=True)
class Verdict:
    plausible: bool
    reason: str = ""  # "rose", "fell_too_fast", "out_of_range" when not plausible


def judge(
    kwh: float,
    at: datetime,
    previous: Reading | None,
    *,
    max_kwh_per_hour: float,
    rise_allowed: bool = False,
) -> Verdict:
    """Compare ``kwh`` read at ``at`` with the previous trusted reading.

    Between top-ups the balance only falls, and not faster than ``max_kwh_per_hour``.
    """
    if not 0 <= kwh <= MAX_DISPLAY_KWH:
        return Verdict(False, "out_of_range")
    if previous is None or previous.kwh is None:
        return Verdict(True)
    hours = max(0.0, (at - previous.ts).total_seconds() / 3600)
    change = kwh - previous.kwh
    if change > SLACK_KWH and not rise_allowed:
        return Verdict(False, "rose")
    if -change > max_kwh_per_hour * hours + SLACK_KWH:
        return Verdict(False, "fell_too_fast")
    return Verdict(True)
