"""``/ringkasan`` and meter choice for many meters, through the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.telegram.keyboards import PAGE_SIZE
from tests.bot.telegram.conftest import OWNER, Bot, make_config, running_bot
from tests.servers.telegram_api import FakeBotApi
from tokenmeter.devices.broker import LocalBroker

ROOMS = 20


@pytest.fixture
async def kos_bot(api: FakeBotApi, broker: LocalBroker, tmp_path: Path) -> AsyncIterator[Bot]:
    """A boarding house of twenty rooms (a shared simulated meter behind them)."""
    meters = [
        {"id": f"k{n}", "name": f"Kamar {n}", "camera_url": "sim:kos"} for n in range(1, ROOMS + 1)
    ]
    config = make_config(tmp_path, broker, meters)
    async for running in running_bot(api, config, tmp_path):
        yield running


def button_rows(call_params: dict[str, object]) -> list[list[dict[str, str]]]:
    markup = call_params["reply_markup"]
    assert isinstance(markup, dict)
    rows: list[list[dict[str, str]]] = markup["inline_keyboard"]
    return rows


async def test_ringkasan_lists_every_room(kos_bot: Bot) -> None:
    """One message: the header and a line per room, the checked one last (nothing to do)."""
    await kos_bot.core.checks.check("k7", "cli")
    (answer,) = await kos_bot.command(OWNER, "/ringkasan")
    lines = answer.text.splitlines()
    assert lines[0] == "20 meter, 19 perlu tindakan" and len(lines) == 21
    assert lines[-1].startswith("✅ Kamar 7: 120,0 kWh · 0 menit lalu")
    assert lines[1] == "⚠️ Kamar 1: - kWh · belum pernah dicek"


async def test_meter_buttons_come_in_pages(kos_bot: Bot) -> None:
    """Eight rooms per page with a next button; turning the page edits the buttons, and
    a button of page 3 runs the command for that room."""
    (ask,) = await kos_bot.command(OWNER, "/status")
    rows = button_rows(ask.params)
    names = [b["text"] for row in rows[:-1] for b in row]
    assert names == [f"Kamar {n}" for n in range(1, PAGE_SIZE + 1)]
    (following,) = rows[-1]
    assert following["text"] == "Berikutnya › (2/3)"
    api = kos_bot.api
    for expected_page in (2, 3):
        api.press(OWNER, ask.message_id, following["callback_data"])
        edits = expected_page - 1

        def edited(e: int = edits) -> bool:
            return len(api.calls_of("editMessageReplyMarkup")) >= e

        assert await api.until(edited)
        rows = button_rows(api.calls_of("editMessageReplyMarkup")[-1].params)
        if expected_page == 2:
            following = rows[-1][-1]
            assert [b["text"] for b in rows[-1]] == ["‹ Sebelumnya", "Berikutnya › (3/3)"]
    names = [b["text"] for row in rows[:-1] for b in row]
    assert names == [f"Kamar {n}" for n in range(17, ROOMS + 1)]
    before = len(list(api.sent_messages(OWNER)))
    api.press(OWNER, ask.message_id, rows[0][1]["callback_data"])  # Kamar 18
    assert await api.until(lambda: len(list(api.sent_messages(OWNER))) > before)
    assert "Kamar 18" in list(api.sent_messages(OWNER))[-1].text


async def test_a_name_offers_only_the_rooms_it_matches(kos_bot: Bot) -> None:
    """'/status kamar 1' is a search: Kamar 1 and 10-19 are offered, on two pages."""
    (ask,) = await kos_bot.command(OWNER, "/status kamar 1")
    rows = button_rows(ask.params)
    names = [b["text"] for row in rows[:-1] for b in row]
    assert names == ["Kamar 1", *(f"Kamar {n}" for n in range(10, 17))]
    assert rows[-1][0]["text"] == "Berikutnya › (2/2)"


async def test_ekspor_sends_the_month_as_a_csv(kos_bot: Bot) -> None:
    """/ekspor k7: a CSV document of this month's records, the usage in the caption."""
    await kos_bot.core.checks.check("k7", "cli")
    api = kos_bot.api
    api.send_text(OWNER, "/ekspor k7")
    assert await api.until(lambda: bool(api.calls_of("sendDocument", OWNER)))
    (sent,) = api.calls_of("sendDocument", OWNER)
    text = sent.files["document"].decode("utf-8")
    assert text.startswith("kind,meter,name,time,date,kwh")
    assert ",k7,Kamar 7," in text and ",k1," not in text
    assert sent.params["caption"].startswith("Catatan ")
    (refused,) = await kos_bot.command(OWNER, "/ekspor 2026-13")
    assert refused.text.startswith("Gunakan /ekspor")
