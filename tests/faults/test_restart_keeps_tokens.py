"""Faults: the service restarts with tokens queued or pending (finding 7 of issue 27).

A token waiting for the keypad must survive a restart of the service: kept encrypted
beside the data (never in clear, the key not in the store), the owner told its state
after the restart, typed once when the keypad answers, and wiped once typed.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.faults.topup_rig import fault_config, start_core, status, told, told_at_last
from tests.tokenmeter.services.simkit import eventually, token
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import TopUpStatus
from tokenmeter.services.topup_vault import KEY_FILE, TOKEN_KEY_ENV, VAULT_FILE


async def test_queued_and_pending_tokens_survive_a_restart(
    tmp_path: Path, broker: LocalBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keypad offline: one token QUEUED, one just entered; the service stops. After the
    restart the owner is told both are still waiting, and both are typed and confirmed
    when the keypad is there; the vault never holds the digits in clear and is empty
    at the end; the key file is 0600."""
    monkeypatch.delenv(TOKEN_KEY_ENV, raising=False)
    config = fault_config(tmp_path, broker.url)
    core, _ = await start_core(config, tmp_path)
    queued_digits, pending_digits = token(31), token(32)
    try:
        core.sim_devices[0].stop()
        assert await eventually(lambda: core.keypad.known_offline("rumah"), 10)
        queued = await core.topups.start("rumah", queued_digits, "telegram")
        assert (await core.topups.wait("rumah", queued.id, 10)).status is TopUpStatus.QUEUED
        pending = await core.topups.start("rumah", pending_digits, "cli")
    finally:
        await core.stop()
    waiting = {TopUpStatus.PENDING, TopUpStatus.QUEUED}
    vault = (tmp_path / VAULT_FILE).read_bytes()
    assert queued_digits.encode() not in vault and pending_digits.encode() not in vault
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("tm.db*"))
    assert queued_digits.encode() not in stored and pending_digits.encode() not in stored

    again, events = await start_core(config, tmp_path)
    try:
        done = {TopUpStatus.CONFIRMED}
        ids = (queued.id, pending.id)
        assert await eventually(lambda: {status(again, i) for i in ids} == done, 30), [
            status(again, i) for i in ids
        ]
        for topup in (queued, pending):
            confirmed = await told_at_last(events, topup.id, TopUpStatus.CONFIRMED)
            assert confirmed, told(events, topup.id)
            assert told(events, topup.id)[0] in waiting, "the owner is told it is still waiting"
        assert again.sim_devices[0].commands_pressed == 2
        assert again.sim_meters["rumah"].tokens_accepted == 2
        assert (tmp_path / VAULT_FILE).read_text() == "{}"
    finally:
        await again.stop()
