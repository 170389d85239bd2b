"""The digits of top-ups not yet typed, kept encrypted on disk across a restart.

AES-256-GCM (``cryptography``) with a key that is never in the store: the environment
variable ``TOKENMETER_TOKEN_KEY`` (URL-safe base64 of 32 bytes), else a key file
created on first use with mode 0600 beside the data. Each entry is bound to its meter
and top-up id (associated data), so an entry copied to another top-up does not
decrypt. The vault file is rewritten whole, atomically (temporary file, mode 0600,
rename); an entry is dropped as soon as its token is typed, fails or expires.

A vault that cannot be used (a bad key, an unwritable folder) is logged and the
digits stay in memory only, as before: a restart then expires those top-ups.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

TOKEN_KEY_ENV = "TOKENMETER_TOKEN_KEY"
VAULT_FILE = "topup-tokens.vault"
KEY_FILE = "topup-tokens.key"
_NONCE_BYTES = 12


class VaultUnavailable(Exception):
    """The vault's key or file cannot be used."""


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise VaultUnavailable("the token key is not URL-safe base64") from None
    if len(key) != 32:
        raise VaultUnavailable("the token key is not 32 bytes")
    return key


def load_key(key_path: Path, env: str | None) -> bytes:
    """The key from ``env`` (the variable's value), else from ``key_path``, created
    with mode 0600 when missing. A key file readable by others is refused."""
    if env:
        return _decode_key(env)
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as err:
        raise VaultUnavailable(f"cannot create {key_path}: {err.strerror}") from None
    else:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(base64.urlsafe_b64encode(AESGCM.generate_key(256)).decode("ascii"))
        log.info("created the token key %s (mode 0600)", key_path)
    try:
        if key_path.stat().st_mode & 0o077:
            raise VaultUnavailable(f"{key_path} is readable by others: chmod 600 it")
        return _decode_key(key_path.read_text(encoding="ascii"))
    except OSError as err:
        raise VaultUnavailable(f"cannot read {key_path}: {err.strerror}") from None


class TokenVault:
    """Encrypted digits by ``(meter, top-up id)`` in ``data_dir``; methods are blocking
    and thread-safe. The key is loaded (or created) on first use, not when built."""

    def __init__(self, data_dir: Path, key: bytes | None = None) -> None:
        self.path = data_dir / VAULT_FILE
        self.key_path = data_dir / KEY_FILE
        self._aead = AESGCM(key) if key is not None else None
        self._lock = threading.Lock()

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._aead = AESGCM(load_key(self.key_path, os.environ.get(TOKEN_KEY_ENV)))
        return self._aead

    def put(self, meter_id: str, topup_id: str, digits: str) -> None:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = nonce + self._cipher().encrypt(nonce, digits.encode(), _bound(meter_id, topup_id))
        with self._lock:
            entries = self._load()
            entries[_name(meter_id, topup_id)] = base64.b64encode(sealed).decode("ascii")
            self._save(entries)

    def get(self, meter_id: str, topup_id: str) -> str | None:
        """The digits, or None when there is no entry or it does not decrypt."""
        with self._lock:
            text = self._load().get(_name(meter_id, topup_id))
        if text is None:
            return None
        try:
            sealed = base64.b64decode(text)
            plain = self._cipher().decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _bound(meter_id, topup_id)
            )
        except (InvalidTag, binascii.Error, ValueError):
            log.warning("the kept token of top-up %s does not decrypt (another key?)", topup_id)
            return None
        return plain.decode("ascii", errors="replace")

    def drop(self, meter_id: str, topup_id: str) -> None:
        with self._lock:
            entries = self._load()
            if entries.pop(_name(meter_id, topup_id), None) is not None:
                self._save(entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._load())

    def _load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            raise VaultUnavailable(f"cannot read {self.path}: {type(err).__name__}") from None
        if not isinstance(data, dict):
            raise VaultUnavailable(f"{self.path} is not a token vault")
        return {str(k): str(v) for k, v in data.items()}

    def _save(self, entries: dict[str, str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entries, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except OSError as err:
            raise VaultUnavailable(f"cannot write {self.path}: {err.strerror}") from None


def _name(meter_id: str, topup_id: str) -> str:
    return f"{meter_id}/{topup_id}"


def _bound(meter_id: str, topup_id: str) -> bytes:
    return f"tokenmeter-topup:{meter_id}/{topup_id}".encode()
