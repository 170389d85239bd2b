"""People and permissions through the real bot: a tenant sees and tops up only its
rooms; an owner manages tenants with /akses (kept in the store)."""

from __future__ import annotations

from tests.bot.telegram.conftest import OWNER, SECOND_OWNER, TENANT, TWO_ROOMS, Bot
from tokenmeter.errors import UnknownMeter
from tokenmeter.texts import error_sentence

NEWCOMER = 3009  # nobody yet
TOKEN = "5713 2846 0091 7734 5521"


async def test_a_tenant_sees_only_its_room(kos: Bot) -> None:
    """/status needs no meter choice (one room), /ringkasan and /bantuan list only that
    room, and naming another room is refused."""
    (status,) = await kos.command(TENANT, "/status")
    assert "meter Kamar 1." in status.text
    (other,) = await kos.command(TENANT, "/status kamar2")
    assert other.text == "Meter Kamar 2 bukan untuk chat ini."
    (unknown,) = await kos.command(TENANT, "/cektoken kamar9")
    assert unknown.text == error_sentence(UnknownMeter("kamar9", meter="kamar9"), "id")
    (overview,) = await kos.command(TENANT, "/ringkasan")
    assert "Kamar 1" in overview.text and "Kamar 2" not in overview.text
    (help_text,) = await kos.command(TENANT, "/bantuan")
    assert help_text.text.endswith("Meter: Kamar 1 (kamar1)")


async def test_a_tenant_cannot_top_up_another_room(kos: Bot) -> None:
    """A token for another room, typed or pasted, is refused before any confirmation
    and nothing is stored; a token without a room goes to the tenant's own."""
    (typed,) = await kos.command(TENANT, f"/isi kamar2 {TOKEN}")
    assert typed.text == "Meter Kamar 2 bukan untuk chat ini."
    (pasted,) = await kos.command(TENANT, f"kamar2 {TOKEN}")
    assert pasted.text == "Meter Kamar 2 bukan untuk chat ini."
    assert len(kos.api.calls_of("deleteMessage", TENANT)) == 2  # the digits are not left
    assert kos.core.store.list_topups("kamar2") == []
    (own,) = await kos.command(TENANT, f"/isi {TOKEN}")
    assert own.text.startswith("Isi token ke meter Kamar 1?")


async def test_meter_buttons_list_only_the_chats_rooms(kos: Bot) -> None:
    """A tenant of two rooms is offered those two; a forged button for another room is
    refused and nothing is shown of it."""
    (ask,) = await kos.command(TWO_ROOMS, "/status")
    buttons = [b for row in ask.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Kamar 1", "Kamar 3"]
    key = buttons[0]["callback_data"].split(":")[1]
    kos.api.press(TWO_ROOMS, ask.message_id, f"pilih:{key}:1")  # Kamar 2's place
    assert await kos.api.until(
        lambda: any(
            c.text == "Meter Kamar 2 bukan untuk chat ini."
            for c in kos.api.sent_messages(TWO_ROOMS)
        )
    )
    (found,) = await kos.command(TWO_ROOMS, "/status kamar")
    names = [b["text"] for row in found.params["reply_markup"]["inline_keyboard"] for b in row]
    assert names == ["Kamar 1", "Kamar 3"]  # a name search finds the chat's rooms only


async def test_a_tenant_exports_only_its_room(kos: Bot) -> None:
    """/ekspor from a tenant: a CSV with its room's records, none of another room's."""
    for meter_id in ("kamar1", "kamar2"):
        await kos.core.checks.check(meter_id, "cli")
    kos.api.send_text(TENANT, "/ekspor")
    assert await kos.api.until(lambda: bool(kos.api.calls_of("sendDocument", TENANT)))
    (sent,) = kos.api.calls_of("sendDocument", TENANT)
    text = sent.files["document"].decode("utf-8")
    assert ",kamar1,Kamar 1," in text and "kamar2" not in text


async def test_settings_and_akses_are_for_owners(kos: Bot) -> None:
    """A tenant may look at its schedule but not change it, nor correct a reading, nor
    use /akses."""
    (shown,) = await kos.command(TENANT, "/jadwal")
    assert "Kamar 1" in shown.text
    for command in ("/jadwal 07:00", "/batas 5", "/koreksi 12,5", "/akses"):
        (refused,) = await kos.command(TENANT, command)
        assert refused.text == "Hanya pemilik yang dapat melakukan ini.", command
    schedule = kos.core.store.get_schedule("kamar1")
    assert schedule is None or "07:00" not in schedule.times


async def test_owner_gives_and_takes_back_a_room_with_akses(kos: Bot) -> None:
    """A stranger is refused; /akses tambah lets it see its room (kept in the store);
    /akses lists everyone; /akses hapus takes it back; the file's grants stay."""
    (refused,) = await kos.command(NEWCOMER, "/start")
    assert f"ID chat Anda: {NEWCOMER}" in refused.text
    (granted,) = await kos.command(OWNER, f"/akses tambah {NEWCOMER} kamar2 Sari")
    assert granted.text == f"Chat {NEWCOMER} (Sari) sekarang boleh memakai: Kamar 2."
    (status,) = await kos.command(NEWCOMER, "/status")
    assert "meter Kamar 2." in status.text
    (listing,) = await kos.command(SECOND_OWNER, "/akses")
    assert listing.text.startswith(f"Pemilik: {OWNER}, {SECOND_OWNER}")
    assert f"• {TENANT} (Budi): Kamar 1 [berkas]" in listing.text
    assert f"• {NEWCOMER} (Sari): Kamar 2" in listing.text
    (kept,) = await kos.command(OWNER, f"/akses hapus {TENANT} kamar1")
    assert kept.text.startswith("Akses chat 3001 ini berasal dari berkas konfigurasi")
    (removed,) = await kos.command(OWNER, f"/akses hapus {NEWCOMER}")
    assert removed.text == f"Akses chat {NEWCOMER} diubah. Sisa meter: (tidak ada)."
    assert kos.core.store.list_people() == []
    before = len(list(kos.api.sent_messages(NEWCOMER)))
    kos.api.send_text(NEWCOMER, "/status")
    for _ in range(2):  # updates run concurrently: an answer would have come by then
        await kos.command(OWNER, "/akses")
    assert len(list(kos.api.sent_messages(NEWCOMER))) == before
    (usage,) = await kos.command(OWNER, "/akses tambah bukan-angka kamar1")
    assert usage.text.startswith("Pakai: /akses")


async def test_access_in_english(english_bot: Bot) -> None:
    """/access add and the listing speak English when the bot does."""
    (granted,) = await english_bot.command(OWNER, f"/access add {NEWCOMER} rumah")
    assert granted.text == f"Chat {NEWCOMER} may now use: Rumah."
    (listing,) = await english_bot.command(OWNER, "/access")
    assert listing.text.startswith(
        f"Owners: {OWNER}, {SECOND_OWNER}\nTenants:\n• {NEWCOMER}: Rumah"
    )
    (refused,) = await english_bot.command(NEWCOMER, "/access remove 1")
    assert refused.text == "Only an owner can do this."
