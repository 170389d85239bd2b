"""Top-up progress: the message edited as the top-up moves, and its outcome sent anew."""

from __future__ import annotations

from datetime import timedelta

from tests.bot.telegram.conftest import OWNER, Bot
from tests.servers.telegram_api import ApiCall
from tokenmeter.domain import TopUpStatus, utcnow

TOKEN = "5713 2846 0091 7734 5521"
FINAL_MARKS = ("✅", "⚠️", "❌", "⌛")


async def confirm_topup(bot: Bot) -> int:
    """Send /isi and press "Ya, isi"; return the id of the progress message."""
    (confirm,) = await bot.command(OWNER, f"/isi {TOKEN}")
    yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    bot.api.press(OWNER, confirm.message_id, yes)
    return confirm.message_id


def outcomes(bot: Bot) -> list[ApiCall]:
    """New messages to the owner that tell a top-up's final state."""
    return [
        c
        for c in bot.api.sent_messages(OWNER)
        if c.text.startswith(tuple(f"Rumah: {mark}" for mark in FINAL_MARKS))
    ]


def replied_to(call: ApiCall) -> int:
    parameters = call.params["reply_parameters"]
    return int(parameters["message_id"])


async def test_the_result_is_a_new_message_under_the_edited_progress(bot: Bot) -> None:
    """The result is sent as a new message (the phone notifies) in reply to the progress
    message, which is edited to the same final state."""
    progress_id = await confirm_topup(bot)
    assert await bot.api.until(lambda: bool(outcomes(bot)), timeout=20)
    (outcome,) = outcomes(bot)
    assert replied_to(outcome) == progress_id
    assert bot.api.message(OWNER, progress_id)["text"] == outcome.text
    (topup,) = bot.core.store.list_topups("rumah")
    expected = "✅" if topup.status is TopUpStatus.CONFIRMED else "⚠️"
    assert outcome.text.startswith(f"Rumah: {expected}")
    if outcome.method == "sendPhoto":  # unconfirmed with the photo of the display
        assert outcome.files["photo"][:2] == b"\xff\xd8"


async def test_a_queued_top_up_that_expires_is_told_in_a_new_message(bot: Bot) -> None:
    """Keypad offline: the progress line says queued; its expiry comes as a new message."""
    bot.core.sim_devices[0].stop()
    progress_id = await confirm_topup(bot)
    assert await bot.api.until(
        lambda: str(bot.api.message(OWNER, progress_id)["text"]).startswith("Rumah: 🕓"),
        timeout=20,
    )
    assert outcomes(bot) == []
    expired = await bot.core.topups.expire_queued(utcnow() + timedelta(days=2))
    assert [t.status for t in expired] == [TopUpStatus.EXPIRED]
    assert await bot.api.until(lambda: bool(outcomes(bot)))
    (outcome,) = outcomes(bot)
    assert outcome.text.startswith("Rumah: ⌛") and replied_to(outcome) == progress_id
    assert bot.api.message(OWNER, progress_id)["text"] == outcome.text
