"""/atur (camera setup) and /koreksi (the owner's correction) through the real
Application against the fake Bot API, with the real core behind (the simulated meter
shows 120.00 kWh until it is checked or topped up)."""

from __future__ import annotations

from typing import Any

import cv2
import pytest

from bot.telegram.state import bot_state
from ocr.reading import Quad
from tests.bot.telegram.conftest import OWNER, STRANGER, Bot
from tests.servers.telegram_api import ApiCall
from tokenmeter.devices.camera import Snapshot
from tokenmeter.domain import Meter
from tokenmeter.services.camera_setup import default_box, moved_box, problem_sentence
from tokenmeter.services.profiles import CORRECTION_SOURCE
from tokenmeter.sim import render_negative


def buttons(call: ApiCall) -> list[dict[str, Any]]:
    """The inline buttons under a sent message, row after row."""
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button for row in markup["inline_keyboard"] for button in row]


def references(bot: Bot) -> list[tuple[str, str]]:
    """(value, source) of each reference in the meter's stored profile."""
    profile = bot.core.store.get_profile("rumah")
    return [(r.text, r.source) for r in profile.references] if profile else []


async def setup_photo(bot: Bot, text: str = "/atur") -> ApiCall:
    """Send /atur and return the overlay photo it answers with."""
    (photo,) = await bot.command(OWNER, text, method="sendPhoto")
    return photo


async def test_atur_sends_the_overlay_and_benar_enrols(bot: Bot) -> None:
    """/atur: a PNG with the reading and "Benar"/"Ulang"; "Benar" stores the first reference."""
    photo = await setup_photo(bot)
    assert photo.files["photo"][:4] == b"\x89PNG"
    assert (
        photo.text.startswith("Rumah · pengaturan kamera") and "Terbaca: 120,00 kWh" in photo.text
    )
    assert [b["text"] for b in buttons(photo)] == [
        "✅ Benar", "🔄 Ulang", "🔲 Geser kotak", "💡 Tanpa kilat"
    ]  # fmt: skip
    assert references(bot) == []

    bot.api.press(OWNER, photo.message_id, buttons(photo)[0]["callback_data"])
    assert await bot.api.until(
        lambda: "Disimpan" in bot.api.message(OWNER, photo.message_id).get("caption", "")
    )
    caption = bot.api.message(OWNER, photo.message_id)["caption"]
    assert "120,00 kWh menjadi referensi meter Rumah (1 referensi)" in caption
    assert "reply_markup" not in bot.api.message(OWNER, photo.message_id)
    assert references(bot) == [("120.00", "enrol")]
    profile = bot.core.store.get_profile("rumah")
    assert profile is not None and profile.quad is not None

    bot.api.press(OWNER, photo.message_id, buttons(photo)[0]["callback_data"])  # pressed again
    assert await bot.api.until(
        lambda: "tidak berlaku" in bot.api.message(OWNER, photo.message_id).get("caption", "")
    )
    assert len(references(bot)) == 1


async def test_a_typed_value_enrols_with_that_value(bot: Bot) -> None:
    """After /atur the owner types the display's value (decimal comma): it is enrolled;
    a value the photo does not show is refused with what the reader sees."""
    photo = await setup_photo(bot)
    (refused,) = await bot.command(OWNER, "121,50")
    assert (
        refused.text.startswith("❌ Belum disimpan.")
        and "melihat 120,00 di foto, bukan 121,50." in refused.text
    )
    assert references(bot) == []
    (stored,) = await bot.command(OWNER, "120,00")
    assert stored.text.startswith("✅ Disimpan: 120,00 kWh")
    assert references(bot) == [("120.00", "enrol")]
    assert "reply_markup" not in bot.api.message(OWNER, photo.message_id)
    (after,) = await bot.command(OWNER, "120,00")  # no setup waits any more: plain text
    assert "/bantuan" in after.text and len(references(bot)) == 1


async def test_ulang_takes_a_new_photo(bot: Bot) -> None:
    """ "Ulang" drops the old photo's buttons and sends a new setup photo."""
    photo = await setup_photo(bot)
    bot.api.press(OWNER, photo.message_id, buttons(photo)[1]["callback_data"])
    assert await bot.api.until(lambda: len(bot.api.calls_of("sendPhoto", OWNER)) == 2)
    again = bot.api.calls_of("sendPhoto", OWNER)[-1]
    assert "Terbaca: 120,00 kWh" in again.text and len(buttons(again)) == 4
    assert "reply_markup" not in bot.api.message(OWNER, photo.message_id)


def shown_box(bot: Bot) -> Quad | None:
    """The box of the setup photo the owner's chat has open."""
    found = bot_state(bot.app).setups.latest(OWNER)
    assert found is not None
    return found[1].shot.quad


async def press(bot: Bot, message_id: int, label: str, edits: int) -> dict[str, Any]:
    """Press the button ``label`` under the message; wait for its ``edits``-th new photo."""
    bot.api.press(OWNER, message_id, _button(bot.api.message(OWNER, message_id), label))
    assert await bot.api.until(lambda: len(bot.api.calls_of("editMessageMedia", OWNER)) >= edits)
    return bot.api.message(OWNER, message_id)


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {"inline_keyboard": []}
    return [b["text"] for row in markup["inline_keyboard"] for b in row]


async def test_geser_moves_the_box_and_benar_enrols_it(bot: Bot) -> None:
    """ "Geser kotak" turns the buttons into arrows; "➡️" moves the box one step over the
    same photo, redrawn in place (a new overlay PNG); "Benar" enrols the moved box."""
    photo = await setup_photo(bot)
    found = shown_box(bot)
    assert found is not None
    moving = await press(bot, photo.message_id, "🔲 Geser kotak", 1)
    assert labels(moving) == [
        "⬅️", "⬆️", "⬇️", "➡️", "➕ Besar", "➖ Kecil", "✅ Benar", "🔄 Ulang"
    ]  # fmt: skip
    assert "Geser kotak dengan tombol panah" in moving["caption"]
    assert shown_box(bot) == found
    moved = await press(bot, photo.message_id, "➡️", 2)
    edit = bot.api.calls_of("editMessageMedia", OWNER)[-1]
    assert next(iter(edit.files.values()))[:4] == b"\x89PNG"
    right = moved_box(found, "right", 640, 480)
    assert shown_box(bot) == right and right[0][0] > found[0][0]
    assert "Terbaca: 120,00 kWh" in moved["caption"]
    assert len(bot.api.calls_of("sendPhoto", OWNER)) == 1  # no new photo was taken
    bot.api.press(OWNER, photo.message_id, _button(moved, "✅ Benar"))
    assert await bot.api.until(
        lambda: "Disimpan" in bot.api.message(OWNER, photo.message_id).get("caption", "")
    )
    profile = bot.core.store.get_profile("rumah")
    assert profile is not None and profile.quad == right
    assert references(bot) == [("120.00", "enrol")]


async def test_a_box_grown_too_far_reads_nothing_and_a_typed_value_is_refused(bot: Bot) -> None:
    """Grown twice the box holds more than the line: no reading, so no "Benar"; the
    value typed then is refused with a plain sentence and nothing is stored."""
    photo = await setup_photo(bot)
    await press(bot, photo.message_id, "🔲 Geser kotak", 1)
    await press(bot, photo.message_id, "➕ Besar", 2)
    grown = await press(bot, photo.message_id, "➕ Besar", 3)
    assert "tidak terbaca" in grown["caption"] and "✅ Benar" not in labels(grown)
    (refused,) = await bot.command(OWNER, "121,00")
    assert refused.text.startswith("❌ Belum disimpan.")
    assert references(bot) == []


def _button(message: dict[str, Any], label: str) -> str:
    (data,) = [
        b["callback_data"]
        for row in message["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    ]
    return str(data)


async def test_the_flash_button_retakes_without_flash_and_benar_keeps_it(bot: Bot) -> None:
    """ "Tanpa kilat" takes a new photo without the flash (its button now offers it
    back); "Benar" under it stores the profile with the flash off, so every check of
    the meter photographs without it."""
    photo = await setup_photo(bot)
    bot.api.press(
        OWNER, photo.message_id, _button(bot.api.message(OWNER, photo.message_id), "💡 Tanpa kilat")
    )
    assert await bot.api.until(lambda: len(bot.api.calls_of("sendPhoto", OWNER)) == 2)
    dark = bot.api.calls_of("sendPhoto", OWNER)[-1]
    assert [b["text"] for b in buttons(dark)][-1] == "💡 Dengan kilat"
    assert "reply_markup" not in bot.api.message(OWNER, photo.message_id)
    bot.api.press(OWNER, dark.message_id, buttons(dark)[0]["callback_data"])
    assert await bot.api.until(
        lambda: "Disimpan" in bot.api.message(OWNER, dark.message_id).get("caption", "")
    )
    profile = bot.core.store.get_profile("rumah")
    assert profile is not None and profile.flash is False


async def test_a_dark_frame_gets_the_sentence_and_only_ulang(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dark camera frame: the photo says what to change, with only "Ulang" to press."""
    dark = render_negative("dark", seed=1)

    async def dark_snapshot(meter: Meter, *, flash: bool = True) -> Snapshot:
        ok, jpeg = cv2.imencode(".jpg", dark)
        assert ok
        return Snapshot(bytes(jpeg.tobytes()), dark)

    monkeypatch.setattr(bot.core.checks.camera, "snapshot", dark_snapshot)
    photo = await setup_photo(bot)
    assert problem_sentence("too_dark", "id") in photo.text
    assert "tidak terbaca" in photo.text
    assert [b["text"] for b in buttons(photo)] == ["🔄 Ulang", "🔲 Geser kotak", "💡 Tanpa kilat"]
    (refused,) = await bot.command(OWNER, "120,00")  # a typed value cannot help either
    assert refused.text.startswith("❌ Belum disimpan.")
    moving = await press(bot, photo.message_id, "🔲 Geser kotak", 1)  # a box to start from
    height, width = dark.shape[:2]
    assert shown_box(bot) == default_box(width, height)
    assert "tidak terbaca" in moving["caption"] and "✅ Benar" not in labels(moving)
    assert references(bot) == []


async def test_koreksi_fixes_the_last_reading(bot: Bot) -> None:
    """/koreksi 119,50 rumah (meter after the value) corrects the history; the photo,
    which shows another value, does not become a reference."""
    (empty,) = await bot.command(OWNER, "/koreksi 119,50")
    assert empty.text == "Belum ada pembacaan Rumah untuk dikoreksi. Kirim /cektoken dulu."
    await bot.command(OWNER, "/cektoken", method="sendPhoto")
    checked = bot.core.store.latest_reading("rumah")
    assert checked is not None and checked.photo

    (reply,) = await bot.command(OWNER, "/koreksi 119,50 rumah")
    assert reply.text.startswith("Pembacaan terakhir Rumah (")
    assert f"{checked.text.replace('.', ',')} → 119,50 kWh" in reply.text
    assert "tidak dijadikan referensi" in reply.text
    latest = bot.core.store.latest_reading("rumah")
    assert latest is not None and latest.id == checked.id
    assert latest.kwh == 119.5 and latest.source == CORRECTION_SOURCE
    assert references(bot) == []

    (bad,) = await bot.command(OWNER, "/koreksi banyak")
    assert bad.text.startswith("Nilai tidak sah")


async def test_koreksi_with_the_shown_value_adds_a_reference(bot: Bot) -> None:
    """Correcting to the value the photo shows makes the photo a reference."""
    await bot.command(OWNER, "/cektoken", method="sendPhoto")
    checked = bot.core.store.latest_reading("rumah")
    assert checked is not None and checked.text
    (reply,) = await bot.command(OWNER, f"/koreksi {checked.text.replace('.', ',')}")
    assert "menjadi referensi untuk membaca meter ini (1 referensi)" in reply.text
    assert references(bot) == [(checked.text, "correction")]


async def test_a_stranger_gets_nothing(bot: Bot) -> None:
    """A chat not allowed gets only the one refusal: no photo, no correction, and its
    value does not answer the setup photo an owner has open."""
    await setup_photo(bot)
    to_stranger = await bot.refused(STRANGER, ["/atur", "/koreksi 1,00", "120,00"], "/status")
    assert [c.method for c in to_stranger] == ["sendMessage"]
    assert "Maaf" in to_stranger[0].text
    assert references(bot) == [] and bot.core.store.latest_reading("rumah") is None


async def test_setup_in_english(english_bot: Bot) -> None:
    """/setup speaks English and lists the commands in /help."""
    photo = await setup_photo(english_bot, "/setup")
    assert "Read: 120.00 kWh" in photo.text
    assert [b["text"] for b in buttons(photo)] == [
        "✅ Right", "🔄 Retake", "🔲 Move the box", "💡 Without flash"
    ]  # fmt: skip
    (stored,) = await english_bot.command(OWNER, "120.00")
    assert stored.text.startswith("✅ Stored: 120.00 kWh")
    (help_text,) = await english_bot.command(OWNER, "/help")
    assert "/setup [meter]" in help_text.text and "/correct 123.45 [meter]" in help_text.text


async def test_atur_with_two_meters_asks_with_the_meter_keyboard(two_meter_bot: Bot) -> None:
    """/atur without a meter offers the meter buttons; one press takes that meter's photo."""
    bot = two_meter_bot
    (ask,) = await bot.command(OWNER, "/atur")
    assert ask.text == "Pilih meter:"
    kos = next(b for b in buttons(ask) if b["text"] == "Kos Melati")
    bot.api.press(OWNER, ask.message_id, kos["callback_data"])
    assert await bot.api.until(lambda: bool(bot.api.calls_of("sendPhoto", OWNER)))
    assert bot.api.calls_of("sendPhoto", OWNER)[0].text.startswith("Kos Melati · ")
