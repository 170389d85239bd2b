"""Every command driven by real updates through the real Application and core."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from bot.telegram.texts import device_name
from tests.bot.telegram.conftest import GROUP, OWNER, Bot
from tokenmeter.domain import (
    Reading,
    ReadingStatus,
    TopUp,
    TopUpStatus,
    mask_token,
    new_id,
    token_hash,
    utcnow,
)
from tokenmeter.errors import InvalidToken, Unreadable
from tokenmeter.texts import error_sentence, format_kwh

TOKEN = "5713 2846 0091 7734 5521"
DIGITS = TOKEN.replace(" ", "")


def expected_balance_line(bot: Bot) -> str:
    """What the caption must say about the latest stored reading."""
    latest = bot.core.store.latest_reading("rumah")
    assert latest is not None
    if latest.kwh is None:
        return error_sentence(Unreadable(), "id")
    return f"Sisa token: {format_kwh(latest.kwh, 'id')} kWh"


def add_readings(bot: Bot, values: list[float], hours_apart: float = 6) -> None:
    start = utcnow() - timedelta(hours=hours_apart * len(values))
    for index, kwh in enumerate(values):
        bot.core.store.add_reading(
            Reading(
                id=new_id("r"),
                meter_id="rumah",
                ts=start + timedelta(hours=hours_apart * index),
                kwh=kwh,
                text=f"{kwh:.2f}",
                confidence=0.99,
                source="schedule",
                status=ReadingStatus.OK,
            )
        )


async def test_cektoken_sends_the_photo_with_the_reading(bot: Bot) -> None:
    """/cektoken shows "sending photo", then the photo captioned with the reading."""
    (reply,) = await bot.command(OWNER, "/cektoken", method="sendPhoto")
    assert reply.files["photo"][:2] == b"\xff\xd8"
    assert reply.text.startswith("Rumah · ")
    assert expected_balance_line(bot) in reply.text
    actions = bot.api.calls_of("sendChatAction", OWNER)
    assert actions and actions[0].params["action"] == "upload_photo"


async def test_cektoken_flood_from_one_chat_starts_one_capture(bot: Bot) -> None:
    """Five /cektoken at once from one chat: one capture, one photo, "wait" for the rest."""
    bot.api.send_many([(OWNER, "/cektoken")] * 5)

    def answers() -> list[str]:
        return [
            c.method if c.method == "sendPhoto" else c.text
            for c in bot.api.sent_messages(OWNER)
            if c.method == "sendPhoto" or "sedang difoto" in c.text
        ]

    assert await bot.api.until(lambda: len(answers()) >= 5)
    assert answers().count("sendPhoto") == 1
    assert len(bot.core.store.last_readings("rumah", 10)) == 1


async def test_status_shows_last_reading_and_devices(bot: Bot) -> None:
    """/status gives the stored balance with its age and the keypad's state."""
    add_readings(bot, [80.0, 76.5])
    (reply,) = await bot.command(OWNER, "/status")
    assert "Sisa token: 76,50 kWh" in reply.text and "jam lalu" in reply.text
    for device in bot.core.store.get_device_statuses("rumah"):
        assert device_name(device.name, "id") in reply.text


async def test_riwayat_is_a_compact_table(bot: Bot) -> None:
    """/riwayat 3 lists the last three readings, newest first, in a <pre> table."""
    add_readings(bot, [90.0, 85.25, 80.5, 1234.5])
    (reply,) = await bot.command(OWNER, "/riwayat 3")
    assert reply.params["parse_mode"] == "HTML"
    rows = reply.text.split("<pre>")[1].split("</pre>")[0].splitlines()[1:]  # after the header
    assert len(rows) == 3
    assert "1.234,50" in rows[0] and "80,50" in rows[1] and "85,25" in rows[2]


async def test_riwayat_refuses_a_bad_count(bot: Bot) -> None:
    """/riwayat with a word that is not a count explains the form."""
    (reply,) = await bot.command(OWNER, "/riwayat banyak")
    assert "Jumlah harus angka" in reply.text


async def test_grafik_sends_a_png_chart(bot: Bot) -> None:
    """/grafik 7 sends a PNG of the balance with top-ups and daily usage."""
    add_readings(bot, [60.0, 55.0, 51.0, 47.0, 97.0, 93.0, 88.0, 85.0])
    topup = TopUp(
        id=new_id("t"),
        meter_id="rumah",
        ts=utcnow() - timedelta(hours=20),
        masked=mask_token(DIGITS),
        hash=token_hash("rumah", DIGITS),
        status=TopUpStatus.CONFIRMED,
        source="cli",
        before=47.0,
        after=97.0,
    )
    assert bot.core.store.create_topup(topup)
    (reply,) = await bot.command(OWNER, "/grafik 7")
    assert reply.method == "sendPhoto"
    assert reply.files["photo"].startswith(b"\x89PNG\r\n\x1a\n")
    assert "(2 hari)" in reply.text  # the readings span 42 hours of the 7 days asked


async def test_grafik_title_says_the_real_span(bot: Bot) -> None:
    """/grafik (7 days asked) over one reading, then over six hours, names that span."""
    add_readings(bot, [42.0])
    (one,) = await bot.command(OWNER, "/grafik")
    assert one.method == "sendPhoto" and "7 hari" not in one.text
    assert "1 pembacaan" in one.text
    add_readings(bot, [45.0, 44.0])  # 12 and 6 hours ago: six hours of readings
    (hours,) = await bot.command(OWNER, "/grafik")
    assert hours.text.endswith("(6 jam)"), hours.text


async def test_grafik_with_only_unverified_readings_says_there_is_no_data(bot: Bot) -> None:
    """Readings that are all unverified are not drawn: the chart says there is no data."""
    bot.core.store.add_reading(
        Reading(new_id("r"), "rumah", utcnow(), 5.0, "5.00", 0.9, "cli", ReadingStatus.UNVERIFIED)
    )
    (reply,) = await bot.command(OWNER, "/grafik")
    assert reply.method == "sendMessage" and "Belum ada data" in reply.text


async def test_grafik_without_data_says_so(bot: Bot) -> None:
    """/grafik with no readings says there is nothing to draw."""
    (reply,) = await bot.command(OWNER, "/grafik")
    assert reply.method == "sendMessage" and "Belum ada data" in reply.text


async def test_jadwal_shows_and_sets_the_schedule(bot: Bot) -> None:
    """/jadwal shows the seeded times; /jadwal 7:30 19:00 stores new ones."""
    (shown,) = await bot.command(OWNER, "/jadwal")
    assert "06:00, 18:00" in shown.text
    (saved,) = await bot.command(OWNER, "/jadwal 19:00 7:30")
    assert "07:30, 19:00" in saved.text
    schedule = bot.core.store.get_schedule("rumah")
    assert schedule is not None and schedule.times == ("07:30", "19:00")


async def test_jadwal_refuses_a_bad_time(bot: Bot) -> None:
    """/jadwal 25:00 is refused in plain words and nothing is stored."""
    (reply,) = await bot.command(OWNER, "/jadwal 25:00")
    assert "25:00 tidak valid" in reply.text
    schedule = bot.core.store.get_schedule("rumah")
    assert schedule is not None and schedule.times == ("06:00", "18:00")


async def test_batas_sets_the_low_balance_threshold(bot: Bot) -> None:
    """/batas 7,5 stores 7.5 kWh as the meter's threshold."""
    (reply,) = await bot.command(OWNER, "/batas 7,5")
    assert "7,50 kWh" in reply.text
    meter = bot.core.store.get_meter("rumah")
    assert meter is not None and meter.low_kwh == 7.5


async def test_isi_refuses_a_short_token_and_deletes_it(bot: Bot) -> None:
    """/isi 123 says why it is refused and deletes the message holding the digits."""
    message_id = bot.api.send_text(OWNER, "/isi 123")
    assert await bot.api.until(lambda: bool(list(bot.api.sent_messages(OWNER))))
    (reply,) = list(bot.api.sent_messages(OWNER))
    assert reply.text == "Token harus 20 digit, yang dikirim 3 digit."
    (deleted,) = bot.api.calls_of("deleteMessage", OWNER)
    assert int(deleted.params["message_id"]) == message_id


async def test_isi_confirmed_with_ya_is_typed_and_followed(bot: Bot) -> None:
    """/isi, then "Ya, isi": the top-up runs and its result is edited into the message."""
    user_message = bot.api.send_text(OWNER, f"/isi {TOKEN}")
    assert await bot.api.until(lambda: bool(list(bot.api.sent_messages(OWNER))))
    (confirm,) = list(bot.api.sent_messages(OWNER))
    assert mask_token(DIGITS) in confirm.text
    buttons = confirm.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["Ya, isi", "Batal"]
    assert bot.api.calls_of("deleteMessage", OWNER)[0].params["message_id"] == str(user_message)

    message_id = confirm.message_id
    bot.api.press(OWNER, message_id, buttons[0]["callback_data"])
    final = ("✅", "⚠️", "❌")
    assert await bot.api.until(
        lambda: bot.api.message(OWNER, message_id)["text"].startswith(
            tuple(f"Rumah: {mark}" for mark in final)
        ),
        timeout=20,
    )
    (topup,) = bot.core.store.list_topups("rumah")
    assert topup.source == "telegram" and topup.status in {
        TopUpStatus.CONFIRMED,
        TopUpStatus.UNCONFIRMED,
    }
    edits = bot.api.calls_of("editMessageText", OWNER)
    assert len(edits) >= 2  # "starting", then the states as they came
    wire = json.dumps([c.params for c in bot.api.calls])
    assert DIGITS not in wire and DIGITS[:10] not in wire  # only ever masked


async def test_isi_batal_types_nothing(bot: Bot) -> None:
    """Pressing "Batal" drops the token: nothing is stored or typed."""
    bot.api.send_text(OWNER, f"/isi {TOKEN}")
    assert await bot.api.until(lambda: bool(list(bot.api.sent_messages(OWNER))))
    (confirm,) = list(bot.api.sent_messages(OWNER))
    cancel = confirm.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    message_id = confirm.message_id
    bot.api.press(OWNER, message_id, cancel)
    assert await bot.api.until(lambda: "Dibatalkan" in bot.api.message(OWNER, message_id)["text"])
    bot.api.press(OWNER, message_id, cancel)  # a second press finds nothing to cancel
    assert await bot.api.until(
        lambda: "tidak berlaku" in bot.api.message(OWNER, message_id)["text"]
    )
    assert bot.core.store.list_topups("rumah") == []


async def test_two_meters_ask_with_buttons(two_meter_bot: Bot) -> None:
    """With two meters, /status asks which one; the button runs it for that meter."""
    bot = two_meter_bot
    bot.core.store.add_reading(
        Reading(new_id("r"), "kos", utcnow(), 42.0, "42.00", 0.99, "cli", ReadingStatus.OK)
    )
    (ask,) = await bot.command(OWNER, "/status")
    assert ask.text == "Pilih meter:"
    buttons = [b for row in ask.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Rumah", "Kos Melati"]
    before = len(list(bot.api.sent_messages(OWNER)))
    bot.api.press(OWNER, ask.message_id, buttons[1]["callback_data"])
    assert await bot.api.until(lambda: len(list(bot.api.sent_messages(OWNER))) > before)
    reply = list(bot.api.sent_messages(OWNER))[-1]
    assert reply.text.startswith("Kos Melati") and "42,00 kWh" in reply.text


async def test_a_named_meter_is_used_directly(two_meter_bot: Bot) -> None:
    """/jadwal kos answers for that meter without asking."""
    (reply,) = await two_meter_bot.command(OWNER, "/jadwal kos")
    assert reply.text.startswith("Jadwal cek Kos Melati")


async def test_unknown_meter_is_said_plainly(two_meter_bot: Bot) -> None:
    """/status gudang names the unknown meter instead of asking."""
    (reply,) = await two_meter_bot.command(OWNER, "/status gudang")
    assert reply.text == "Meter gudang tidak dikenal."


async def test_a_pasted_token_is_taken_as_isi(bot: Bot) -> None:
    """A message that is only a token (dashes allowed) is deleted, then confirmed as /isi."""
    message_id = bot.api.send_text(OWNER, "5713-2846-0091-7734-5521")
    assert await bot.api.until(lambda: bool(list(bot.api.sent_messages(OWNER))))
    (confirm,) = list(bot.api.sent_messages(OWNER))
    assert confirm.text == f"Isi token ke meter Rumah?\nToken: {mask_token(DIGITS)}"
    (deleted,) = bot.api.calls_of("deleteMessage", OWNER)
    assert int(deleted.params["message_id"]) == message_id
    assert deleted.at <= confirm.at  # the digits leave the chat before anything else
    yes = confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    bot.api.press(OWNER, confirm.message_id, yes)
    assert await bot.api.until(lambda: bool(bot.core.store.list_topups("rumah")))
    (topup,) = bot.core.store.list_topups("rumah")
    assert topup.hash == token_hash("rumah", DIGITS) and topup.source == "telegram"
    await bot.core.topups.wait("rumah", topup.id, timeout=20)


async def test_a_pasted_token_with_two_meters_asks_which(two_meter_bot: Bot) -> None:
    """Two meters: a pasted token asks which meter, then to confirm; "kos <token>" asks no meter."""
    bot = two_meter_bot
    (ask,) = await bot.command(OWNER, TOKEN)
    assert ask.text == "Pilih meter:" and len(bot.api.calls_of("deleteMessage", OWNER)) == 1
    kos = ask.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    bot.api.press(OWNER, ask.message_id, kos)
    assert await bot.api.until(lambda: len(list(bot.api.sent_messages(OWNER))) >= 2)
    confirm = list(bot.api.sent_messages(OWNER))[-1]
    assert confirm.text.startswith("Isi token ke meter Kos Melati?")
    (direct,) = await bot.command(OWNER, f"kos {TOKEN}")
    assert direct.text.startswith("Isi token ke meter Kos Melati?")
    assert len(bot.api.calls_of("deleteMessage", OWNER)) == 2


async def test_unknown_text_and_commands_point_to_bantuan(bot: Bot) -> None:
    """Text that is no token and an unknown command each get a short pointer to /bantuan."""
    (text_reply,) = await bot.command(OWNER, "halo, sisa token berapa?")
    assert "/bantuan" in text_reply.text and len(text_reply.text) < 200
    (command_reply,) = await bot.command(OWNER, "/saldo")
    assert "/bantuan" in command_reply.text and "/saldo" in command_reply.text
    (short_digits,) = await bot.command(OWNER, "12345")
    assert "/bantuan" in short_digits.text
    assert bot.api.calls_of("deleteMessage", OWNER) == []


async def test_a_group_chat_is_not_answered_for_chatter(group_bot: Bot) -> None:
    """In a group, chatter and another bot's commands get no answer; a pasted token does."""
    bot = group_bot
    bot.api.send_text(GROUP, "selamat pagi semua")
    bot.api.send_text(GROUP, "/saldo@another_bot")
    (confirm,) = await bot.command(GROUP, TOKEN)
    assert confirm.text.startswith("Isi token ke meter Rumah?")
    (pointer,) = await bot.command(GROUP, "/saldo@tokenmeter_test_bot")
    assert "/bantuan" in pointer.text
    await asyncio.sleep(0.5)
    assert len(list(bot.api.sent_messages(GROUP))) == 2


def store_topup(bot: Bot, status: TopUpStatus) -> None:
    """A top-up of TOKEN on "rumah" already in the store with ``status``."""
    topup = TopUp(
        id=new_id("t"),
        meter_id="rumah",
        ts=utcnow() - timedelta(days=2),
        masked=mask_token(DIGITS),
        hash=token_hash("rumah", DIGITS),
        status=status,
        source="cli",
    )
    assert bot.core.store.create_topup(topup)


async def test_isi_refuses_a_used_token_before_asking(bot: Bot) -> None:
    """A token used before on the meter is refused at once, with no "Ya, isi" to press."""
    store_topup(bot, TopUpStatus.CONFIRMED)
    for text in (f"/isi {TOKEN}", TOKEN):
        (reply,) = await bot.command(OWNER, text)
        assert reply.text == error_sentence(InvalidToken("already_used"), "id")
        assert "reply_markup" not in reply.params
    assert len(bot.api.calls_of("deleteMessage", OWNER)) == 2


async def test_isi_asks_again_for_a_token_that_expired_in_the_queue(bot: Bot) -> None:
    """A token that expired without being typed may be entered again: it is asked to confirm."""
    store_topup(bot, TopUpStatus.EXPIRED)
    (reply,) = await bot.command(OWNER, f"/isi {TOKEN}")
    assert reply.text.startswith("Isi token ke meter Rumah?") and "reply_markup" in reply.params


def add_mixed_history(bot: Bot) -> None:
    """Three readings: a scheduled one, an unverified one from a top-up, a failed /cektoken."""
    now = utcnow()
    for hours, kwh, source, status in (
        (3, 80.5, "schedule", ReadingStatus.OK),
        (2, 95.25, "topup", ReadingStatus.UNVERIFIED),
        (1, None, "telegram", ReadingStatus.UNREADABLE),
    ):
        text = "" if kwh is None else f"{kwh:.2f}"
        bot.core.store.add_reading(
            Reading(
                new_id("r"), "rumah", now - timedelta(hours=hours), kwh, text, 0.9, source, status
            )
        )


def table_and_legend(text: str) -> tuple[list[str], str]:
    table = text.split("<pre>")[1].split("</pre>")[0].splitlines()
    return table, text.split("</pre>")[1]


async def test_riwayat_has_a_header_a_legend_and_indonesian_sources(bot: Bot) -> None:
    """/riwayat names its columns (time in WIB), explains ? and -✗, and says the sources
    in Indonesian."""
    add_mixed_history(bot)
    (reply,) = await bot.command(OWNER, "/riwayat")
    table, legend = table_and_legend(reply.text)
    assert table[0].split() == ["Waktu", "(WIB)", "kWh", "Sumber"]
    assert table[1].split()[2:] == ["-✗", "Telegram"]
    assert table[2].split()[2:] == ["95,25?", "isi", "token"]
    assert table[3].split()[2:] == ["80,50", "jadwal"]
    assert "? = " in legend and "-✗ = " in legend and "gagal" in legend
    assert "schedule" not in reply.text and "topup" not in reply.text


async def test_riwayat_in_english(english_bot: Bot) -> None:
    """With language "en" the header, legend and sources are English."""
    add_mixed_history(english_bot)
    (reply,) = await english_bot.command(OWNER, "/history")
    table, legend = table_and_legend(reply.text)
    assert table[0].split() == ["Time", "(WIB)", "kWh", "Source"]
    assert table[2].split()[2:] == ["95.25?", "top-up"] and table[3].split()[2:] == [
        "80.50",
        "schedule",
    ]
    assert "failed" in legend
