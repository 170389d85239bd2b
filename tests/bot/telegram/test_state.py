"""Conversation state: one capture per meter, tokens handed out once."""

from __future__ import annotations

import asyncio
import time

from bot.telegram.state import PENDING_TTL_S, BotState, CheckRuns, PendingTopUp, TelegramDeps
from tokenmeter.access import AccessBook, file_people
from tokenmeter.domain import Meter, Reading, ReadingStatus, utcnow
from tokenmeter.events import CheckOutcome

METER = Meter("rumah", "Rumah")


async def test_check_runs_share_one_capture_per_meter() -> None:
    """Three chats asking at once share one capture; the next ask takes a new one."""
    runs = CheckRuns()
    started = 0
    gate = asyncio.Event()

    async def capture() -> CheckOutcome:
        nonlocal started
        started += 1
        await gate.wait()
        reading = Reading("r", "rumah", utcnow(), 5.0, "5", 1, "telegram", ReadingStatus.OK)
        return CheckOutcome(METER, reading)

    waiters = [asyncio.create_task(runs.run("rumah", chat, capture)) for chat in (1, 2, 3)]
    await asyncio.sleep(0)
    assert runs.busy("rumah", 2) and not runs.busy("rumah", 4) and not runs.busy("kos", 2)
    gate.set()
    outcomes = await asyncio.gather(*waiters)
    assert started == 1 and len({id(o) for o in outcomes}) == 1
    assert not runs.busy("rumah", 2)
    await runs.run("rumah", 1, capture)
    assert started == 2


def make_state() -> BotState:
    deps = TelegramDeps(store=None, checker=None, topups=None, meters=[METER])  # type: ignore[arg-type]
    return BotState(deps=deps, lang="id", access=AccessBook(file_people([1], []), None))


def test_a_pending_token_is_handed_out_once_to_its_own_chat() -> None:
    """Only the chat that sent the token can take it, and only once."""
    state = make_state()
    key = state.keep_topup(PendingTopUp(1, "rumah", "12345678901234567890"))
    assert "1234567890" not in key
    assert state.take_topup(key, 2) is None
    taken = state.take_topup(key, 1)
    assert taken is not None and taken.digits == "12345678901234567890"
    assert state.take_topup(key, 1) is None


def test_old_pending_tokens_expire() -> None:
    """A confirmation older than ten minutes is refused and forgotten."""
    state = make_state()
    key = state.keep_topup(
        PendingTopUp(
            1, "rumah", "12345678901234567890", created=time.monotonic() - PENDING_TTL_S - 1
        )
    )
    assert state.take_topup(key, 1) is None
    assert state.pending_topups == {}


def test_a_stranger_is_refused_once() -> None:
    """first_refusal is true once per chat."""
    state = make_state()
    assert state.first_refusal(9) and not state.first_refusal(9) and state.first_refusal(8)
