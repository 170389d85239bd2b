"""Faults: Firebase away while the service runs (finding 6 of issue 27).

The Realtime Database is stopped (connections refused) or answers 503. Checks, the
scheduled kind included, must still be taken, read and published; their readings
wait in the ordered local outbox and reach Firebase exactly once, in order, when it
returns. A top-up needs the store's compare-and-set, so it is refused at once with a
plain sentence, never left hanging. The expiry poll says so once per outage, with no
traceback.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.topup_rig import fault_config, start_core
from tests.servers.firebase_rtdb import FirebaseRtdbServer
from tests.tokenmeter.services.simkit import eventually, token
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import ReadingStatus
from tokenmeter.errors import StoreUnavailable, TokenmeterError
from tokenmeter.services import topup_resume
from tokenmeter.store.firebase import FirebaseStore
from tokenmeter.texts import error_sentence

NS = "tokenmeter-away"
CHECK_WITHIN_S = 10.0  # a sim check takes well under a second with Firebase up
REFUSED_WITHIN_S = 3.0


@pytest.fixture
def firebase() -> Iterator[FirebaseRtdbServer]:
    """A private Realtime Database server this test may stop and restart."""
    with FirebaseRtdbServer() as server:
        yield server


def _go_away(server: FirebaseRtdbServer, outage: str) -> None:
    if outage == "stopped":
        server.stop()
    else:
        server.unavailable = True


def _come_back(server: FirebaseRtdbServer, outage: str) -> None:
    if outage == "stopped":
        server.start()
    else:
        server.unavailable = False


@pytest.mark.parametrize("outage", ["stopped", "503"])
async def test_checks_queue_and_topups_are_refused_while_firebase_is_away(
    tmp_path: Path,
    own_broker: LocalBroker,
    firebase: FirebaseRtdbServer,
    outage: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Firebase away: a scheduled and an asked-for check each yield a reading in
    bounded time, a top-up is refused within 3 s, the expiry poll warns once; when
    Firebase returns, both readings arrive once, in order."""
    monkeypatch.setattr(topup_resume, "EXPIRY_POLL_S", 0.2)
    config = fault_config(tmp_path, own_broker.url)
    config.store.backend = "firebase"
    config.store.firebase_url = firebase.url(NS)
    core, _ = await start_core(config, tmp_path)
    store = core.store
    assert isinstance(store, FirebaseStore)
    away = False
    try:
        before = await core.checks.check("rumah", "telegram")
        assert before.reading.status is ReadingStatus.OK
        caplog.clear()
        caplog.set_level(logging.INFO)
        _go_away(firebase, outage)
        away = True

        taken = []
        for source in ("schedule", "telegram"):
            started = time.monotonic()
            outcome = await asyncio.wait_for(
                core.checks.check("rumah", source, fresh=True), CHECK_WITHIN_S
            )
            assert outcome.reading.status is ReadingStatus.OK, outcome.reading.error
            assert outcome.reading.kwh is not None
            assert time.monotonic() - started < CHECK_WITHIN_S
            taken.append(outcome.reading.id)

        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as refused:
            await asyncio.wait_for(core.topups.start("rumah", token(13), "telegram"), 10)
        assert time.monotonic() - started < REFUSED_WITHIN_S
        sentence = error_sentence(refused.value)  # what the doors tell the owner
        assert sentence != error_sentence(TokenmeterError()) and "Traceback" not in sentence

        await asyncio.sleep(1.5)  # several expiry polls while away
        expiry = [r for r in caplog.records if "expiring" in r.getMessage()]
        assert len([r for r in expiry if r.levelno == logging.WARNING]) == 1, expiry
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"

        _come_back(firebase, outage)
        away = False
        assert await eventually(lambda: store.queued_writes == 0, 15)
        readings = firebase.read(NS, ["meters", "rumah", "readings"])
        assert sorted(readings) == sorted([before.reading.id, *taken])  # each exactly once
        latest = firebase.read(NS, ["meters", "rumah", "latest"])
        assert latest["id"] == taken[-1]  # replayed in order: the last one is latest
    finally:
        if away:
            _come_back(firebase, outage)
        await core.stop()
