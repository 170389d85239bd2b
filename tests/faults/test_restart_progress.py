"""Faults: the service restarts while top-ups wait for the keypad (finding 7 of issue 27):
the Telegram messages that show their progress are brought up to date afterwards.

Real mosquitto, the fake Bot API over real HTTP, SQLite: the messages are kept with
the top-up in the store, and the restarted service edits them and sends the outcome
as a new message, as it does without a restart.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import OWNER, PARTNER, read_shown, service_config
from tests.servers.telegram_api import ApiCall, FakeBotApi
from tests.tokenmeter.services.simkit import eventually, token
from tokenmeter.app import SimOptions
from tokenmeter.config import Config
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import TopUp, TopUpStatus
from tokenmeter.service import Service, build_service
from tokenmeter.services.topup_vault import TOKEN_KEY_ENV

TOKEN = "5713 2846 0091 7734 5521"
QUEUED, CONFIRMED = "🕓", "✅"


def _service(config: Config) -> Service:
    return read_shown(build_service(config, sim=SimOptions(key_time_scale=0.01)))


def _text(api: FakeBotApi, chat_id: int, message_id: int) -> str:
    return str(api.message(chat_id, message_id).get("text", ""))


def _replies_to(api: FakeBotApi, chat_id: int, message_id: int) -> list[ApiCall]:
    """New messages to the chat sent in reply to ``message_id``."""
    return [
        call
        for call in api.sent_messages(chat_id)
        if (call.params.get("reply_parameters") or {}).get("message_id") == message_id
    ]


def _showing(api: FakeBotApi, chat_id: int, topup: TopUp) -> list[ApiCall]:
    """Messages sent to the chat, not as a reply, that show the top-up."""
    return [
        call
        for call in api.sent_messages(chat_id)
        if topup.masked in call.text and not call.params.get("reply_parameters")
    ]


def _queued_in(api: FakeBotApi, chat_id: int, topup: TopUp) -> bool:
    """The chat was sent a message about the top-up, which now shows it queued."""
    sent = _showing(api, chat_id, topup)
    return bool(sent) and QUEUED in _text(api, chat_id, sent[0].message_id)


def _outcome_shown(api: FakeBotApi, chat_id: int, message_id: int) -> bool:
    """The message is edited to the confirmed state and the outcome sent in reply."""
    confirmed = CONFIRMED in _text(api, chat_id, message_id)
    return confirmed and bool(_replies_to(api, chat_id, message_id))


async def _confirm_in_telegram(api: FakeBotApi) -> int:
    """Send /isi and press "Ya, isi"; return the id of the progress message."""
    api.send_text(OWNER, f"/isi {TOKEN}")
    assert await api.until(
        lambda: any(c.params.get("reply_markup") for c in api.sent_messages(OWNER)), 15
    )
    confirm = next(c for c in api.sent_messages(OWNER) if c.params.get("reply_markup"))
    yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    api.press(OWNER, confirm.message_id, yes)
    return confirm.message_id


async def test_progress_messages_are_brought_up_to_date_after_a_restart(
    tmp_path: Path, broker: LocalBroker, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keypad offline: a top-up confirmed in Telegram and one from the CLI are queued and
    their messages say so; the service stops. The restarted service types both, edits
    the owner's progress message and the CLI top-up's announcement in each chat to the
    confirmed state, sends each outcome as a new message in reply, announces nothing
    again, and keeps no message ids once the top-ups are final."""
    monkeypatch.delenv(TOKEN_KEY_ENV, raising=False)
    config = service_config(tmp_path, broker, api=api)
    first = _service(config)
    await first.start()
    try:
        core, telegram = first.core, first.telegram
        assert telegram is not None
        assert await eventually(lambda: telegram.polling, 15)
        core.sim_devices[0].stop()
        assert await eventually(lambda: core.keypad.known_offline("rumah"), 10)
        progress_id = await _confirm_in_telegram(api)
        assert await api.until(lambda: QUEUED in _text(api, OWNER, progress_id), 20)
        cli = await core.topups.start("rumah", token(33), "cli")
        chats = (OWNER, PARTNER)
        queued = lambda: all(_queued_in(api, chat, cli) for chat in chats)  # noqa: E731
        assert await api.until(queued, 20), [c.text for c in api.sent_messages(OWNER)]
        (from_telegram,) = [t for t in core.store.list_topups("rumah") if t.source == "telegram"]
        ids = {from_telegram.id, cli.id}
        assert await eventually(lambda: set(core.store.topup_messages("rumah")) == ids, 10)
    finally:
        await first.stop()
    announced = {chat: _showing(api, chat, cli)[0].message_id for chat in chats}

    again = _service(config)
    await again.start()
    try:
        store = again.core.store
        confirmed = frozenset({TopUpStatus.CONFIRMED})
        assert await eventually(lambda: len(store.list_topups("rumah", confirmed)) == 2, 30), [
            (t.source, t.status) for t in store.list_topups("rumah")
        ]
        shown = [(OWNER, progress_id)] + [(chat, announced[chat]) for chat in chats]
        settled = lambda: all(_outcome_shown(api, c, m) for c, m in shown)  # noqa: E731
        assert await api.until(settled, 20), [_text(api, c, m) for c, m in shown]
        for chat, message_id in shown:
            (outcome,) = _replies_to(api, chat, message_id)
            assert outcome.text == _text(api, chat, message_id)
        for chat in chats:
            assert len(_showing(api, chat, cli)) == 1, "the CLI top-up was announced again"
        assert await eventually(lambda: store.topup_messages("rumah") == {}, 10)
    finally:
        await again.stop()
