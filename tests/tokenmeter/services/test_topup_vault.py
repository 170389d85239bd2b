"""Tests for tokenmeter.services.topup_vault."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from tokenmeter.services.topup_vault import (
    KEY_FILE,
    TOKEN_KEY_ENV,
    VAULT_FILE,
    TokenVault,
    VaultUnavailable,
    load_key,
)

DIGITS = "12345678901234567890"


def test_digits_round_trip_encrypted_and_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Put, get, drop; the file never holds the digits; the key file is made 0600."""
    monkeypatch.delenv(TOKEN_KEY_ENV, raising=False)
    vault = TokenVault(tmp_path)
    assert vault.get("rumah", "t1") is None
    assert not (tmp_path / KEY_FILE).exists(), "no key is made just to read nothing"
    vault.put("rumah", "t1", DIGITS)
    assert DIGITS.encode() not in (tmp_path / VAULT_FILE).read_bytes()
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / VAULT_FILE).stat().st_mode) == 0o600
    assert TokenVault(tmp_path).get("rumah", "t1") == DIGITS  # a restart reads it back
    vault.drop("rumah", "t1")
    assert vault.get("rumah", "t1") is None and len(vault) == 0


def test_an_entry_moved_to_another_top_up_does_not_decrypt(tmp_path: Path) -> None:
    """Each entry is bound to its meter and top-up id."""
    vault = TokenVault(tmp_path, key=bytes(32))
    vault.put("rumah", "t1", DIGITS)
    entries = json.loads((tmp_path / VAULT_FILE).read_text())
    entries["rumah/t2"] = entries["rumah/t1"]
    (tmp_path / VAULT_FILE).write_text(json.dumps(entries))
    assert vault.get("rumah", "t2") is None
    assert TokenVault(tmp_path, key=bytes(range(32))).get("rumah", "t1") is None  # other key


def test_key_from_the_environment_and_bad_keys(tmp_path: Path) -> None:
    """The environment's key wins and no file is made; bad keys and open files are refused."""
    key = bytes(range(32))
    assert load_key(tmp_path / KEY_FILE, base64.urlsafe_b64encode(key).decode()) == key
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(VaultUnavailable):
        load_key(tmp_path / KEY_FILE, "not a key")
    (tmp_path / KEY_FILE).write_text(base64.urlsafe_b64encode(key).decode())
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(VaultUnavailable, match="chmod 600"):
        load_key(tmp_path / KEY_FILE, None)
