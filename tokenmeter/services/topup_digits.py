"""The digits of top-ups not yet typed: in this process's memory and, encrypted, in
the ``TokenVault`` so that a restart can resume them.

They are kept from the moment a top-up is stored until its token is typed, fails or
expires, and wiped then. A vault that cannot be used is logged; the digits then stay
in memory only (a restart expires those top-ups).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tokenmeter.services.topup_vault import TokenVault, VaultUnavailable

log = logging.getLogger(__name__)


class TokenKeeper:
    """Top-up id → digits, in memory and in the vault (when there is one)."""

    def __init__(self, vault: TokenVault | None = None) -> None:
        self.vault = vault
        self._digits: dict[str, str] = {}

    def get(self, topup_id: str) -> str | None:
        """The digits held in memory for a top-up, if any."""
        return self._digits.get(topup_id)

    def __contains__(self, topup_id: object) -> bool:
        return topup_id in self._digits

    async def keep(self, meter_id: str, topup_id: str, digits: str) -> None:
        """Keep the digits in memory and, encrypted, in the vault until typed."""
        self._digits[topup_id] = digits
        if self.vault is not None:
            await self._vault_call(self.vault.put, meter_id, topup_id, digits)

    async def forget(self, meter_id: str, topup_id: str) -> None:
        """Wipe the digits: typed, failed or expired."""
        self._digits.pop(topup_id, None)
        if self.vault is not None:
            await self._vault_call(self.vault.drop, meter_id, topup_id)

    async def recall(self, meter_id: str, topup_id: str) -> None:
        """Load the digits of a top-up from the vault into memory, when kept there."""
        if self.vault is not None:
            digits = await self._vault_call(self.vault.get, meter_id, topup_id)
            if isinstance(digits, str):
                self._digits[topup_id] = digits

    async def _vault_call(self, call: Callable[..., object], *args: str) -> object:
        try:
            return await asyncio.to_thread(call, *args)
        except VaultUnavailable as err:
            log.warning("token vault: %s; the digits are kept in memory only", err)
            return None
