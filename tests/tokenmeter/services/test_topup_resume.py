"""Tests for tokenmeter.services.topup_resume: the task per top-up (stand-in flow)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import pytest

from tokenmeter.config import Config
from tokenmeter.domain import Meter
from tokenmeter.errors import StoreUnavailable
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


class AwayStore:
    """A store that is away: every read of top-ups fails."""

    def list_topups(self, meter_id: str, statuses: object) -> list[object]:
        raise StoreUnavailable("firebase unreachable while reading topups")


class StandInKeypad:
    def send(self, meter_id: str, topup_id: str, digits: str, *, enter: bool) -> None:
        raise AssertionError("nothing awaits an answer")


async def test_the_link_returning_with_the_store_away_raises_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The keypad link's return retries open top-ups; with the store away that is left to
    the expiry poll, with one INFO line, instead of an unhandled error in a callback."""
    config = Config.model_validate({"meters": [{"id": "rumah", "camera_url": "sim:"}]})
    flow = cast(TopUpFlow, StandInFlow())
    flow.awaiting = {}
    topups = OpenTopUps(
        config, cast(Any, AwayStore()), cast(Any, StandInKeypad()), flow, TokenKeeper()
    )
    with caplog.at_level(logging.INFO, logger="tokenmeter.services.topup_resume"):
        await topups._resend_awaiting()
    assert any("store is away" in r.getMessage() for r in caplog.records)
