"""Faults: the keypad is gone but still looks online (finding 1 of issue 27).

The broker dies (and is restarted) while the keypad is away: its last will died with the broker, so
the retained "online" the PC saw last is all it has. A top-up must not be sent into
the void and then reported typed: it is queued until the keypad answers, and typed
once when it returns. A token whose record only says "no answer" (never proven
typed) is not refused when entered again: the device is asked first.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.faults.topup_rig import fault_config, new_device, start_core, status, told, told_at_last
from tests.tokenmeter.services.simkit import eventually, token
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import StatusChange, TopUp, TopUpStatus, mask_token, token_hash, utcnow
from tokenmeter.sim.meter import token_credit


async def test_keypad_away_across_a_broker_restart_is_not_typed_to(
    tmp_path: Path, own_broker: LocalBroker
) -> None:
    """Broker restarted, keypad gone without a will: the top-up waits QUEUED (never
    SENT, never UNCONFIRMED) and is typed once, confirmed, when the keypad returns."""
    core, events = await start_core(fault_config(tmp_path, own_broker.url), tmp_path)
    device = None
    try:
        away = core.sim_devices[0]
        away.link.client.loop_stop()  # the keypad freezes: no goodbye
        pid = own_broker.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # the broker dies, and the keypad's will with it
        away.stop()
        assert await eventually(lambda: own_broker.pid not in (None, pid), 10)
        assert await eventually(lambda: core.mqtt.connected, 15), "MQTT did not reconnect"
        assert core.keypad.is_online("rumah"), "precondition: the stale online flag"
        digits = token(11)
        started = await core.topups.start("rumah", digits, "cli")
        waited = await core.topups.wait("rumah", started.id, 30)
        assert waited.status is TopUpStatus.QUEUED, (waited.status, waited.error)
        assert TopUpStatus.SENT not in told(events, started.id)
        device = new_device(core, own_broker.url)
        assert await eventually(lambda: status(core, started.id) is TopUpStatus.CONFIRMED, 30)
        assert device.commands_pressed == 1
        assert core.sim_meters["rumah"].tokens_accepted == 1
        assert await told_at_last(events, started.id, TopUpStatus.CONFIRMED), told(
            events, started.id
        )
    finally:
        if device is not None:
            device.stop()
        await core.stop()


async def test_a_token_never_proven_typed_is_asked_about_not_refused(
    tmp_path: Path, own_broker: LocalBroker
) -> None:
    """A record that says typed only because nobody answered (``no_answer``): entering
    the token again asks the device, which never saw it, so it is typed and confirmed
    on the same record."""
    core, events = await start_core(fault_config(tmp_path, own_broker.url), tmp_path)
    try:
        digits, now = token(12), utcnow()
        unproven = TopUp(
            "t-unproven", "rumah", now, mask_token(digits), token_hash("rumah", digits),
            TopUpStatus.UNCONFIRMED, "cli", before=50.0, error="no_answer",
            history=(
                StatusChange(TopUpStatus.PENDING, now),
                StatusChange(TopUpStatus.SENT, now),
                StatusChange(TopUpStatus.UNCONFIRMED, now, "no_answer"),
            ),
        )  # fmt: skip
        assert core.store.create_topup(unproven)
        again = await core.topups.start("rumah", digits, "telegram")
        assert again.id == "t-unproven"
        final = await core.topups.wait("rumah", again.id, 30)
        assert final.status is TopUpStatus.CONFIRMED, (final.status, final.error)
        assert final.credit is not None and abs(final.credit - token_credit(digits)) < 0.1
        assert core.sim_devices[0].commands_pressed == 1
        assert await told_at_last(events, again.id, TopUpStatus.CONFIRMED), told(events, again.id)
    finally:
        await core.stop()
