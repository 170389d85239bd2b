"""Tests for tokenmeter.services.topup_digits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenmeter.services.topup_digits import TokenKeeper
from tokenmeter.services.topup_vault import TOKEN_KEY_ENV, VAULT_FILE, TokenVault

DIGITS = "12345678901234567890"


async def test_kept_digits_are_recalled_after_a_restart_and_wiped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept in memory and the vault; a new keeper recalls them; forget wipes both."""
    monkeypatch.delenv(TOKEN_KEY_ENV, raising=False)
    keeper = TokenKeeper(TokenVault(tmp_path))
    await keeper.keep("rumah", "t1", DIGITS)
    assert keeper.get("t1") == DIGITS and "t1" in keeper
    assert DIGITS.encode() not in (tmp_path / VAULT_FILE).read_bytes()

    restarted = TokenKeeper(TokenVault(tmp_path))
    assert "t1" not in restarted
    await restarted.recall("rumah", "t1")
    assert restarted.get("t1") == DIGITS

    await restarted.forget("rumah", "t1")
    assert restarted.get("t1") is None
    assert TokenVault(tmp_path).get("rumah", "t1") is None


async def test_unusable_vault_keeps_the_digits_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad key is a warning (without the digits); the digits stay in memory."""
    monkeypatch.setenv(TOKEN_KEY_ENV, "not-a-key")
    keeper = TokenKeeper(TokenVault(tmp_path))
    await keeper.keep("rumah", "t1", DIGITS)
    assert keeper.get("t1") == DIGITS
    assert "kept in memory only" in caplog.text and DIGITS not in caplog.text
    await keeper.recall("rumah", "t2")
    assert keeper.get("t2") is None


async def test_without_a_vault_digits_live_in_memory_only() -> None:
    """No vault: keep, recall (nothing to recall) and forget work in memory."""
    keeper = TokenKeeper()
    await keeper.keep("rumah", "t1", DIGITS)
    await keeper.recall("rumah", "t2")
    assert keeper.get("t1") == DIGITS and keeper.get("t2") is None
    await keeper.forget("rumah", "t1")
    assert "t1" not in keeper
