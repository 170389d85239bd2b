"""What ``/atur`` (camera setup) and ``/koreksi`` (the owner's correction) do once the
meter is known; the buttons and the typed value are in ``profile_handlers``.

``/atur`` photographs the meter through ``CameraSetup`` and sends the overlay (the
display's box and the reading drawn on it) with "Benar" / "Ulang" / "Geser kotak"
buttons; the shot waits in ``BotState.setups`` for the owner's answer. "Geser kotak"
turns the buttons into arrows, "Besar" and "Kecil": each press moves the box over
the same photo and the overlay is redrawn in place (``move_box``). ``/koreksi``
hands the value to ``ProfileService.correct``. Both services do blocking work in
threads themselves or are called through ``asyncio.to_thread`` here
(docs/profiles.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
)
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.telegram.state import BotState, PendingSetup
from bot.telegram.views import local_time
from tokenmeter.domain import Meter
from tokenmeter.profile import ProfileError
from tokenmeter.profile_reader import VALUE_MISMATCH, Enrolled, EnrolRefused
from tokenmeter.services.camera_setup import (
    MOVES,
    Move,
    SetupShot,
    default_box,
    moved_box,
    problem_sentence,
    refusal_sentence,
)
from tokenmeter.services.profiles import Correction, CorrectionRefused
from tokenmeter.texts import Lang, format_kwh

if TYPE_CHECKING:  # commands imports this module for its RUNNERS
    from bot.telegram.commands import Call

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's caption

SETUP_PREFIX = "atur"
SETUP_PATTERN = rf"^{SETUP_PREFIX}:"
CONFIRM, RETAKE, MOVE = "benar", "ulang", "geser"  # button answers: ``atur:<answer>:<key>``
FLASH = "kilat"  # a new photo with the flash switched (kept in the profile on "Benar")
BOX_ANSWERS: dict[str, Move] = {move: move for move in MOVES}  # ``atur:left:<key>``
_ARROWS: dict[Move, str] = {"left": "⬅️", "up": "⬆️", "down": "⬇️", "right": "➡️"}

_WORDS: dict[str, dict[Lang, str]] = {
    "setup_header": {"id": "{meter} · pengaturan kamera", "en": "{meter} · camera setup"},
    "setup_read": {
        "id": "Terbaca: {value} kWh. Jika sama dengan layar meter, tekan Benar; jika "
        "tidak, balas dengan angka di layar (mis. 123,45) atau tekan Ulang.",
        "en": "Read: {value} kWh. If the meter's display shows the same, press Right; if "
        "not, reply with the number on the display (e.g. 123.45) or press Retake.",
    },
    "setup_unread": {
        "id": "Angka di layar tidak terbaca. Perbaiki lalu tekan Ulang, atau balas dengan "
        "angka di layar (mis. 123,45).",
        "en": "The display could not be read. Fix it and press Retake, or reply with the "
        "number on the display (e.g. 123.45).",
    },
    "setup_moving": {
        "id": "Geser kotak dengan tombol panah, Besar atau Kecil sampai kotak hijau menutupi "
        "semua angka di layar, lalu tekan Benar (atau balas dengan angka di layar).",
        "en": "Move the box with the arrows, Bigger or Smaller until the green box covers "
        "every digit on the display, then press Right (or reply with the number shown).",
    },
    "button_confirm": {"id": "✅ Benar", "en": "✅ Right"},
    "button_retake": {"id": "🔄 Ulang", "en": "🔄 Retake"},
    "button_move": {"id": "🔲 Geser kotak", "en": "🔲 Move the box"},
    "button_flash_off": {"id": "💡 Tanpa kilat", "en": "💡 Without flash"},
    "button_flash_on": {"id": "💡 Dengan kilat", "en": "💡 With flash"},
    "button_grow": {"id": "➕ Besar", "en": "➕ Bigger"},
    "button_shrink": {"id": "➖ Kecil", "en": "➖ Smaller"},
    "enrolled": {
        "id": "✅ Disimpan: {value} kWh menjadi referensi meter {meter} ({count} referensi). "
        "Pengecekan berikutnya membaca di dalam kotak ini.",
        "en": "✅ Stored: {value} kWh became a reference of meter {meter} ({count} "
        "references). The next checks read inside this box.",
    },
    "enrol_refused": {
        "id": "❌ Belum disimpan. {why}",
        "en": "❌ Not stored. {why}",
    },
    "bad_value": {
        "id": "Nilai tidak sah: tulis angka di layar meter, mis. 123,45.",
        "en": "Not a valid value: write the number on the meter's display, e.g. 123.45.",
    },
    "setup_expired": {
        "id": "Foto pengaturan ini sudah tidak berlaku. Kirim /atur lagi.",
        "en": "This setup photo has expired. Send /setup again.",
    },
    "correct_usage": {
        "id": "Gunakan /koreksi 123,45 [meter]: angka yang tampil di layar meter saat "
        "pembacaan terakhir.",
        "en": "Use /correct 123.45 [meter]: the number the meter's display showed at the "
        "last reading.",
    },
    "corrected": {
        "id": "Pembacaan terakhir {meter} ({time}) dikoreksi: {was} → {value} kWh.",
        "en": "The last reading of {meter} ({time}) was corrected: {was} → {value} kWh.",
    },
    "reference_added": {
        "id": "Fotonya menjadi referensi untuk membaca meter ini ({count} referensi).",
        "en": "Its photo became a reference for reading this meter ({count} references).",
    },
    "reference_refused": {
        "id": "Fotonya tidak dijadikan referensi: {why}",
        "en": "Its photo was not made a reference: {why}",
    },
    "no_reading": {
        "id": "Belum ada pembacaan {meter} untuk dikoreksi. Kirim /cektoken dulu.",
        "en": "There is no reading of {meter} to correct yet. Send /check first.",
    },
    "unavailable": {
        "id": "Fitur profil meter tidak tersedia di layanan ini.",
        "en": "Meter profiles are not available in this service.",
    },
}


def words(lang: Lang, key: str, **params: object) -> str:
    """The sentence ``key`` of this module in ``lang``."""
    return _WORDS[key][lang].format(**params)


def display_value(text: str, lang: Lang) -> str:
    """A display's text as it shows it, with the language's decimal mark ("120,00")."""
    return text.replace(".", ",") if lang == "id" else text


def refusal(err: EnrolRefused, text: str, lang: Lang) -> str:
    """Why a photo did not become a reference, values with the language's decimal mark."""
    if err.code == VALUE_MISMATCH:  # its detail is the value the reader sees
        err = EnrolRefused(err.code, display_value(err.detail, lang))
    return refusal_sentence(err, display_value(text, lang), lang)


def setup_caption(meter: Meter, shot: SetupShot, lang: Lang, *, moving: bool = False) -> str:
    """The overlay photo's caption: the reading, what to change, what to do next."""
    lines = [words(lang, "setup_header", meter=meter.name)]
    if not moving:  # the problems are the camera's; moving the box cannot fix them
        lines += [problem_sentence(problem, lang) for problem in shot.problems]
    if shot.text:
        lines.append(words(lang, "setup_read", value=display_value(shot.text, lang)))
    else:
        lines.append(words(lang, "setup_unread"))
    if moving:
        lines.append(words(lang, "setup_moving"))
    return "\n".join(lines)


def setup_buttons(
    key: str, lang: Lang, *, confirm: bool, flash: bool = True, moving: bool = False
) -> InlineKeyboardMarkup:
    """ "Benar" (when there is a reading to confirm), "Ulang", "Geser kotak" and the
    flash switched ("Tanpa kilat" for a photo taken with it); while moving the box,
    the arrows, "Besar" and "Kecil" above "Benar" and "Ulang"."""

    def button(label: str, answer: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(label, callback_data=f"{SETUP_PREFIX}:{answer}:{key}")

    answers = [button(words(lang, "button_confirm"), CONFIRM)] if confirm else []
    answers.append(button(words(lang, "button_retake"), RETAKE))
    if not moving:
        switch = button(words(lang, "button_flash_off" if flash else "button_flash_on"), FLASH)
        return InlineKeyboardMarkup([answers, [button(words(lang, "button_move"), MOVE), switch]])
    arrows = [button(label, move) for move, label in _ARROWS.items()]
    sizes = [
        button(words(lang, "button_grow"), "grow"),
        button(words(lang, "button_shrink"), "shrink"),
    ]
    return InlineKeyboardMarkup([arrows, sizes, answers])


def enrol_result(
    meter: Meter, result: Enrolled | EnrolRefused | ProfileError, text: str, lang: Lang
) -> str:
    """What became of an enrolment, in one or two sentences."""
    if isinstance(result, ProfileError):
        return words(lang, "bad_value")
    if isinstance(result, EnrolRefused):
        return words(lang, "enrol_refused", why=refusal(result, text, lang))
    stored = result.profile.references[-1].text
    return words(
        lang,
        "enrolled",
        value=display_value(stored, lang),
        meter=meter.name,
        count=len(result.profile.references),
    )


async def take_shot(
    bot: Bot, state: BotState, chat_id: int, meter: Meter, flash: bool | None = None
) -> None:
    """Photograph ``meter`` for its setup (with the flash as ``flash`` says; default:
    as its profile says) and send the overlay with its buttons.

    Raise ``UnknownMeter`` or ``CameraUnavailable`` (a plain sentence at the door)."""
    setup = state.deps.camera_setup
    if setup is None:
        await bot.send_message(chat_id=chat_id, text=words(state.lang, "unavailable"))
        return
    try:  # one action is enough: snapshot and overlay take a few seconds at most
        await bot.send_chat_action(chat_id=chat_id, action=ChatAction.UPLOAD_PHOTO)
    except TelegramError as err:
        log.debug("chat action for %s failed: %s", chat_id, err)
    shot = await setup.take(meter.id, flash=flash)
    log.info("setup shot of %s: %r %s", meter.id, shot.text, ",".join(shot.problems) or "ok")
    key = state.setups.keep(PendingSetup(chat_id, shot))
    sent = await bot.send_photo(
        chat_id=chat_id,
        photo=shot.overlay_png,
        caption=setup_caption(meter, shot, state.lang),
        reply_markup=setup_buttons(key, state.lang, confirm=bool(shot.text), flash=shot.flash),
    )
    pending = state.setups.get(key, chat_id)
    if pending is not None:
        pending.message_id = sent.message_id


async def move_box(
    query: CallbackQuery,
    state: BotState,
    key: str,
    pending: PendingSetup,
    meter: Meter,
    answer: str,
) -> None:
    """One step of the owner's box over the setup photo ("Geser kotak" starts: the
    found box, or one in the middle where none was found); the overlay, caption and
    buttons are replaced in the same message."""
    setup = state.deps.camera_setup
    if setup is None:  # pragma: no cover - the buttons are only sent with a setup
        return
    shot = pending.shot
    height, width = shot.image.shape[:2]
    start = shot.quad or default_box(width, height)
    move = BOX_ANSWERS.get(answer)
    quad = moved_box(start, move, width, height) if move is not None else start
    if quad != shot.quad:
        shot = await setup.reframe(shot, quad)
        pending.shot = shot
        log.info("setup box of %s moved (%s): %r", meter.id, answer, shot.text)
    caption = setup_caption(meter, shot, state.lang, moving=True)
    markup = setup_buttons(key, state.lang, confirm=bool(shot.text), moving=True)
    try:
        await query.edit_message_media(
            media=InputMediaPhoto(shot.overlay_png, caption=caption[:CAPTION_LIMIT]),
            reply_markup=markup,
        )
    except TelegramError as err:
        log.debug("setup photo not replaced: %s", err)


async def enrol_shot(
    state: BotState, meter: Meter, shot: SetupShot, value: str | None
) -> tuple[bool, str]:
    """Enrol the shot as showing ``value`` (default: what was read); whether it was
    stored, and the sentence saying so."""
    setup = state.deps.camera_setup
    if setup is None:
        return False, words(state.lang, "unavailable")
    result: Enrolled | EnrolRefused | ProfileError
    try:
        result = await setup.confirm(shot, value)
    except (EnrolRefused, ProfileError) as err:
        log.info("setup of %s not enrolled: %s", meter.id, err)
        result = err
    else:
        log.info("setup of %s enrolled %s", meter.id, result.profile.references[-1].text)
    text = value if value is not None else shot.text
    return isinstance(result, Enrolled), enrol_result(meter, result, text, state.lang)


async def setup_camera(call: Call, meter: Meter, args: list[str]) -> None:
    """Photograph the meter and show the found display for the owner to confirm."""
    await take_shot(call.bot, call.state, call.chat_id, meter)


async def correct_reading(call: Call, meter: Meter, args: list[str]) -> None:
    """Give the meter's last reading the owner's value; say what became of its photo."""
    profiles = call.state.deps.profiles
    if profiles is None:
        await call.say(words(call.lang, "unavailable"))
        return
    if len(args) != 1:
        await call.say(words(call.lang, "correct_usage"))
        return
    try:
        correction = await asyncio.to_thread(profiles.correct, meter.id, args[0])
    except CorrectionRefused as err:
        log.info("telegram correction of %s refused: %s", meter.id, err.reason)
        key = "no_reading" if err.reason == "no_reading" else "bad_value"
        await call.say(words(call.lang, key, meter=meter.name))
        return
    await call.say(correction_text(meter, correction, call.lang))


def correction_text(meter: Meter, correction: Correction, lang: Lang) -> str:
    """The corrected reading (was → now) and whether its photo became a reference."""
    reading = correction.reading
    was = display_value(correction.was, lang) if correction.was else "?"
    lines = [
        words(
            lang,
            "corrected",
            meter=meter.name,
            time=local_time(reading.ts, meter.timezone),
            was=was,
            value=format_kwh(reading.kwh, lang),
        )
    ]
    if correction.refused is None:
        lines.append(words(lang, "reference_added", count=correction.references))
    else:
        why = refusal(correction.refused, reading.text, lang)
        lines.append(words(lang, "reference_refused", why=why))
    return "\n".join(lines)
