"""Tests for bot.blynk.texts: what the Blynk app shows."""

from __future__ import annotations

import pytest

from bot.blynk import texts
from tokenmeter.domain import TopUp, TopUpStatus, utcnow
from tokenmeter.errors import DeviceOffline, InvalidToken

MASKED = "****-****-****-****-1234"


def _topup(status: TopUpStatus, before: float | None = None, after: float | None = None) -> TopUp:
    return TopUp("t", "rumah", utcnow(), MASKED, "h", status, "blynk", before, after)


@pytest.mark.parametrize("status", list(TopUpStatus))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_state_has_a_sentence_with_the_masked_token(status: TopUpStatus, lang: str) -> None:
    """Every top-up state reads as a sentence naming the masked token, in both languages."""
    text = texts.topup_status_text(_topup(status), lang)  # type: ignore[arg-type]
    assert MASKED in text
    assert "{" not in text


def test_confirmed_names_credit_and_balance_in_local_format() -> None:
    """CONFIRMED adds the credit and the new balance (Indonesian decimal comma)."""
    topup = _topup(TopUpStatus.CONFIRMED, before=1000.0, after=1250.25)
    assert texts.topup_status_text(topup, "id") == (
        f"Berhasil: token {MASKED} masuk. Tambah 250,25 kWh, sisa 1.250,25 kWh."
    )
    assert texts.topup_status_text(topup, "en") == (
        f"Done: token {MASKED} was accepted. Added 250.25 kWh, 1,250.25 kWh left."
    )


def test_queued_says_the_keypad_is_offline() -> None:
    """QUEUED explains that the token waits for the keypad."""
    text = texts.topup_status_text(_topup(TopUpStatus.QUEUED), "id")
    assert text.startswith("Keypad sedang offline.")


def test_refusals_use_the_shared_sentences() -> None:
    """Refusals reuse tokenmeter.texts: the same words as Telegram and the CLI."""
    assert texts.refused_text(InvalidToken("already_used"), "id") == (
        "Token ini sudah pernah dipakai untuk meter ini. Tidak diketik lagi."
    )
    assert texts.refused_text(DeviceOffline(), "en").startswith("The keypad device is offline")


def test_balance_value_is_a_plain_number() -> None:
    """V2 gets a plain number a Double datastream accepts."""
    assert texts.balance_value(1234.5) == "1234.50"
    assert texts.balance_text(1234.5, "id") == "Sisa token: 1.234,50 kWh."
