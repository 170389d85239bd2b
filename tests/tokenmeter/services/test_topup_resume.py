"""Tests for tokenmeter.services.topup_resume: the task per top-up (stand-in flow)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from tokenmeter.domain import Meter
from tokenmeter.services.topup_digits import TokenKeeper
from tokenmeter.services.topup_flow import TopUpFlow
from tokenmeter.services.topup_resume import OpenTopUps

METER = Meter("rumah", "Rumah")


class StandInFlow:
    """Counts runs; each run waits until released."""

    def __init__(self, fail: bool = False) -> None:
        self.runs = 0
        self.release = asyncio.Event()
        self.fail = fail

    async def run(self, meter: Meter, topup_id: str) -> None:
        self.runs += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("boom")


def _open(flow: StandInFlow) -> OpenTopUps:
    none = cast(Any, None)
    return OpenTopUps(none, none, none, cast(TopUpFlow, flow), TokenKeeper())


async def _settled() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_launch_while_running_drives_it_once_more_after() -> None:
    """Two launches during a run give exactly one more run, after the first ends."""
    flow = StandInFlow()
    topups = _open(flow)
    topups.launch(METER, "t1")
    await _settled()
    topups.launch(METER, "t1")
    topups.launch(METER, "t1")
    await _settled()
    assert flow.runs == 1
    flow.release.set()
    await _settled()
    assert flow.runs == 2
    await topups.stop()


async def test_a_run_that_raises_is_logged_not_repeated(caplog: pytest.LogCaptureFixture) -> None:
    """An error in a run is logged at ERROR; nothing launches it again by itself."""
    flow = StandInFlow(fail=True)
    flow.release.set()
    topups = _open(flow)
    topups.launch(METER, "t1")
    await _settled()
    assert flow.runs == 1
    assert "top-up t1 stopped on an error" in caplog.text
    await topups.stop()
