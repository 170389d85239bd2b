"""Tests for tokenmeter.domain."""

from __future__ import annotations

import pytest

from tokenmeter.domain import (
    TOKEN_MAX,
    Schedule,
    TopUp,
    TopUpStatus,
    mask_token,
    new_id,
    normalize_token,
    token_hash,
    utcnow,
    validate_token,
)
from tokenmeter.errors import InvalidSchedule, InvalidToken


def test_validate_token_accepts_grouped_digits() -> None:
    """Spaces, dashes and dots between groups are removed."""
    assert validate_token("1234-5678 9012.3456 7890") == "12345678901234567890"
    assert normalize_token(" 1 2-3 ") == "123"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("1234567890123456789", "length"),
        ("123456789012345678901", "length"),
        ("1234567890123456789a", "not_digits"),
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩٠", "not_digits"),
        (str(TOKEN_MAX + 1), "too_large"),
        ("99999999999999999999", "too_large"),
    ],
)
def test_validate_token_refuses_with_reason(raw: str, reason: str) -> None:
    """Each kind of bad token has its own reason."""
    with pytest.raises(InvalidToken) as err:
        validate_token(raw)
    assert err.value.reason == reason


def test_validate_token_accepts_the_largest_sts_value() -> None:
    """2^66 - 1 itself is a valid token."""
    assert validate_token(str(TOKEN_MAX)) == "73786976294838206463"


def test_mask_token_keeps_only_last_four() -> None:
    """Only the last four digits stay visible."""
    assert mask_token("1234 5678 9012 3456 7890") == "****-****-****-****-7890"


def test_token_hash_depends_on_meter() -> None:
    """The same token hashes differently for different meters, stably for one."""
    digits = "12345678901234567890"
    assert token_hash("a", digits) == token_hash("a", digits)
    assert token_hash("a", digits) != token_hash("b", digits)
    assert digits not in token_hash("a", digits)


def test_schedule_parse_normalises_and_sorts() -> None:
    """Times are zero-padded, deduplicated and sorted."""
    assert Schedule.parse(["18:00", "6:00", "06:00"]).times == ("06:00", "18:00")


@pytest.mark.parametrize("bad", ["25:00", "6pm", "12:60", "", "1200", "24:00"])
def test_schedule_parse_refuses_bad_times(bad: str) -> None:
    """Times outside HH:MM 00:00-23:59 are refused."""
    with pytest.raises(InvalidSchedule):
        Schedule.parse([bad])


def test_topup_moved_appends_history_and_credit() -> None:
    """A status change is recorded with its time; credit is after - before."""
    topup = TopUp("t", "m", utcnow(), "****-****-****-****-1234", "h", TopUpStatus.PENDING, "cli")
    moved = topup.moved(TopUpStatus.CONFIRMED, "ok", before=10.0, after=60.5)
    assert moved.status is TopUpStatus.CONFIRMED
    assert [c.status for c in moved.history] == [TopUpStatus.CONFIRMED]
    assert moved.credit == 50.5
    assert topup.credit is None


def test_new_id_is_unique_and_ordered() -> None:
    """Ids do not repeat and sort by creation time."""
    ids = [new_id("r-") for _ in range(200)]
    assert len(set(ids)) == 200
    assert all(i.startswith("r-") for i in ids)
