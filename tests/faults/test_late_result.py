"""Faults: the keypad's answer comes after the service stopped waiting (finding 2 of
issue 27).

The broker goes down while the keypad types: the answer is held by the keypad's link
and arrives long after ``result_timeout_s``. The top-up must not be closed as
"typed, no credit seen" on silence; the late answer (or the answer to the query the
service sends when the link returns) settles it, compare-and-set, and the owner is
told.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.faults.topup_rig import fault_config, start_core, status, told, told_at_last
from tests.tokenmeter.services.simkit import eventually, token
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import FINAL_TOPUP_STATUSES, TopUpStatus
from tokenmeter.sim.meter import token_credit

OUTAGE_S = 6.0  # longer than the answer timeout and than the typing itself


async def test_a_late_keypad_answer_settles_the_top_up(
    tmp_path: Path, own_broker: LocalBroker
) -> None:
    """Broker down from the first key press for 6 s; keys take ~3.5 s; the service
    waits 1.5 s for the answer: the top-up stays open (not final), then is confirmed
    with the meter's credit once the link is back, typed once, and the owner told."""
    config = fault_config(tmp_path, own_broker.url, result_timeout_s=1.5)
    core, events = await start_core(config, tmp_path, key_time_scale=0.3)
    try:
        meter = core.sim_meters["rumah"]
        digits = token(21)
        started = await core.topups.start("rumah", digits, "telegram")
        assert await eventually(lambda: meter.keys_pressed >= 1, 20)
        own_broker.stop()
        waited = await core.topups.wait("rumah", started.id, 4.0)
        assert waited.status not in FINAL_TOPUP_STATUSES, (waited.status, waited.error)
        await asyncio.sleep(max(0.0, OUTAGE_S - 4.0))
        assert meter.tokens_accepted == 1, "the keys were typed during the outage"
        own_broker.start()
        assert await eventually(lambda: status(core, started.id) is TopUpStatus.CONFIRMED, 30)
        final = core.store.get_topup("rumah", started.id)
        assert final is not None and final.credit is not None
        assert abs(final.credit - token_credit(digits)) < 0.1
        assert core.sim_devices[0].commands_pressed == 1
        assert await told_at_last(events, started.id, TopUpStatus.CONFIRMED), told(
            events, started.id
        )
    finally:
        await core.stop()
