"""Tests for tokenmeter.services.topup_flow. The flow through a real keypad, broker and
meter is exercised end to end in test_topup.py and tests/faults/."""

from __future__ import annotations

import pytest

from tokenmeter.domain import TopUp, TopUpStatus, utcnow
from tokenmeter.services.topup_flow import NO_ANSWER, unproven


def _topup(status: TopUpStatus, error: str = "") -> TopUp:
    return TopUp("t1", "rumah", utcnow(), "****-1234", "h", status, "cli", error=error)


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (TopUpStatus.SENT, "", True),
        (TopUpStatus.SENT, NO_ANSWER, True),
        (TopUpStatus.UNCONFIRMED, NO_ANSWER, True),
        (TopUpStatus.UNCONFIRMED, "no_credit_seen", False),
        (TopUpStatus.CONFIRMED, "", False),
        (TopUpStatus.QUEUED, "device_offline", False),
        (TopUpStatus.FAILED, "device", False),
    ],
)
def test_unproven_is_sent_without_evidence(status: TopUpStatus, error: str, expected: bool) -> None:
    """Only a sent top-up, or one marked typed without the keypad's answer, is unproven."""
    assert unproven(_topup(status, error)) is expected
