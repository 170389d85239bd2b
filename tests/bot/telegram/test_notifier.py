"""Alerts pushed from events on the core's bus to the chats of each meter: its
tenants and every owner."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pydantic import SecretStr

from bot.telegram import TelegramDeps, TelegramNotifier, build_application
from tests.bot.telegram.conftest import (
    OWNER,
    SECOND_OWNER,
    TENANT,
    TWO_ROOMS,
    Bot,
    make_config,
    running_bot,
)
from tests.servers.telegram_api import ApiCall, FakeBotApi
from tokenmeter.config import TelegramConfig
from tokenmeter.devices.broker import LocalBroker
from tokenmeter.domain import DeviceStatus, Reading, ReadingStatus, TopUpStatus, new_id, utcnow
from tokenmeter.events import CheckOutcome, DeviceChanged, LowBalance, MeterBeep, SlotSummary

OWNERS = (OWNER, SECOND_OWNER)


def texts_to(bot: Bot, chat_id: int) -> list[str]:
    return [c.text for c in bot.api.sent_messages(chat_id)]


async def wait_for_messages(bot: Bot, count: int) -> None:
    assert await bot.api.until(
        lambda: all(len(texts_to(bot, chat)) >= count for chat in OWNERS), timeout=20
    )


async def test_low_balance_alerts_every_allowed_chat(bot: Bot) -> None:
    """LowBalance reaches both owners with the balance and the threshold."""
    meter = bot.core.config.meters[0].to_meter()
    reading = Reading(new_id("r"), "rumah", utcnow(), 8.5, "8.50", 0.99, "cli", ReadingStatus.OK)
    await bot.core.bus.publish(LowBalance(CheckOutcome(meter, reading, low=True)))
    await wait_for_messages(bot, 1)
    for chat in OWNERS:
        (text,) = texts_to(bot, chat)
        assert "tinggal 8,50 kWh" in text and "batas 10,00 kWh" in text


async def test_meter_beep_alerts_every_allowed_chat(bot: Bot) -> None:
    """The meter's low-credit beep heard by the ESP32 is told to both owners."""
    await bot.core.bus.publish(MeterBeep("rumah"))
    await wait_for_messages(bot, 1)
    assert all(
        texts_to(bot, chat) == ["🔔 Meter Rumah berbunyi: token hampir habis."] for chat in OWNERS
    )


async def test_only_a_long_offline_device_is_alerted(bot: Bot) -> None:
    """A device that just dropped is not alerted; one offline for long is."""
    device = DeviceStatus("keypad", False, utcnow())
    await bot.core.bus.publish(DeviceChanged("rumah", device, long_offline=False))
    await bot.core.bus.publish(DeviceChanged("rumah", replace(device), long_offline=True))
    await wait_for_messages(bot, 1)
    for chat in OWNERS:
        (text,) = texts_to(bot, chat)
        assert "keypad meter Rumah offline lebih dari 10 menit" in text


async def test_scheduled_check_photo_goes_to_every_chat_once_uploaded(bot: Bot) -> None:
    """A scheduled check's photo reaches both owners; it is uploaded once and reused."""
    await bot.core.checks.check("rumah", "schedule", scheduled=True)
    assert await bot.api.until(lambda: all(bot.api.calls_of("sendPhoto", chat) for chat in OWNERS))
    first, second = (bot.api.calls_of("sendPhoto", chat)[0] for chat in sorted(OWNERS))
    assert "photo" in first.files and first.text.startswith("Cek terjadwal · Rumah")
    assert second.params["photo"] == first.result["photo"][-1]["file_id"]


async def test_a_check_asked_in_telegram_is_not_broadcast(bot: Bot) -> None:
    """A /cektoken answer goes to the asker only, not to every chat."""
    await bot.command(OWNER, "/cektoken", method="sendPhoto")
    await bot.core.bus.publish(MeterBeep("rumah"))  # a later alert, to know the bus is done
    await wait_for_messages(bot, 1)
    assert bot.api.calls_of("sendPhoto", SECOND_OWNER) == []


async def test_a_top_up_from_blynk_is_followed_in_every_chat(bot: Bot) -> None:
    """A top-up from another door is announced once per chat, edited to its result, and
    the result is sent as a new message too."""
    started = await bot.core.topups.start("rumah", "71203948561029384756", "blynk")
    done = await bot.core.topups.wait("rumah", started.id, timeout=20)
    assert done.status in {TopUpStatus.CONFIRMED, TopUpStatus.UNCONFIRMED}
    for chat in OWNERS:
        announced, *_ = [
            c for c in bot.api.calls_of("sendMessage", chat) if c.text.startswith("Isi token dari")
        ]
        assert announced.text.startswith("Isi token dari aplikasi Blynk")

        def finished(chat: int = chat, message_id: int = announced.message_id) -> bool:
            text = str(bot.api.message(chat, message_id)["text"])
            return "sudah diketik" in text or "berhasil" in text

        assert await bot.api.until(finished)
        final = bot.api.message(chat, announced.message_id)["text"]
        assert "****-****-****-****-4756" in final

        def results(chat: int = chat, final: str = final) -> list[ApiCall]:
            return [c for c in bot.api.sent_messages(chat) if c.text == final]  # sent anew

        assert await bot.api.until(lambda: bool(results()))
        (result,) = results()
        assert int(result.params["reply_parameters"]["message_id"]) == announced.message_id


async def test_events_before_the_bot_runs_are_dropped_quietly(api: FakeBotApi) -> None:
    """A notifier whose bot is not started yet sends nothing and raises nothing."""
    telegram = TelegramConfig(token=SecretStr(api.token), api_base_url=api.base_url)
    deps = TelegramDeps(store=None, checker=None, topups=None, meters=[])  # type: ignore[arg-type]
    notifier = TelegramNotifier(build_application(telegram, deps))
    await notifier.notify(MeterBeep("rumah"))
    assert api.calls == []


async def test_a_slot_summary_is_one_message_per_chat_with_attention_photos(
    api: FakeBotApi, broker: LocalBroker, tmp_path: Path
) -> None:
    """Five meters, two needing attention: one summary per chat, the two photos as one
    album in reply to it, uploaded once and reused for the second chat."""
    meters: list[dict[str, object]] = [{"id": f"k{n}", "name": f"Kamar {n}"} for n in range(1, 5)]
    meters.append({"id": "k5", "name": "Kamar 5", "low_kwh": 500.0})  # the sim starts at 120
    config = make_config(tmp_path, broker, meters)
    async for bot in running_bot(api, config, tmp_path):
        outcomes = [await bot.core.checks.check(m.id, "cli") for m in config.meters]
        broken = replace(
            outcomes[0],
            reading=replace(outcomes[0].reading, kwh=None, status=ReadingStatus.UNREADABLE),
        )
        summary = SlotSummary((broken, *outcomes[1:]))
        await TelegramNotifier(bot.app).notify(summary)
        for chat in OWNERS:
            sent = bot.api.calls_of("sendMessage", chat)
            (message,) = [c for c in sent if "Cek terjadwal" in c.text]  # (+ k5's low alert)
            assert message.text.startswith(
                "⚠️ Cek terjadwal · 3 meter OK, 1 di bawah batas, 1 gagal"
            )
            assert (
                "Kamar 5 (120,0 kWh)" in message.text and "Kamar 1 (tidak terbaca)" in message.text
            )
            (album,) = bot.api.calls_of("sendMediaGroup", chat)
            assert album.params["reply_parameters"]["message_id"] == message.message_id
            assert [m["caption"] for m in album.params["media"]] == [
                "Kamar 5: 120,0 kWh",
                "Kamar 1: tidak terbaca",
            ]
            assert bot.api.calls_of("sendPhoto", chat) == []
        first, second = (bot.api.calls_of("sendMediaGroup", c)[0] for c in sorted(OWNERS))
        assert len(first.files) == 2 and second.files == {}
        assert [m["media"] for m in second.params["media"]] == [
            m["photo"][-1]["file_id"] for m in first.result
        ]


async def test_alerts_go_to_the_rooms_people_and_the_owners(kos: Bot) -> None:
    """Kamar 2's low balance reaches the owners only; Kamar 1's beep reaches its tenants
    too. A tenant never gets another room's alert."""
    meter = kos.core.config.meter("kamar2").to_meter()
    reading = Reading(new_id("r"), "kamar2", utcnow(), 8.5, "8.50", 0.99, "cli", ReadingStatus.OK)
    await kos.core.bus.publish(LowBalance(CheckOutcome(meter, reading, low=True)))
    await kos.core.bus.publish(MeterBeep("kamar1"))
    assert await kos.api.until(lambda: all(texts_to(kos, c) for c in (*OWNERS, TENANT)))
    for chat in OWNERS:
        low, beep = texts_to(kos, chat)
        assert "Kamar 2" in low and "tinggal 8,50 kWh" in low and "Kamar 1" in beep
    for chat in (TENANT, TWO_ROOMS):
        assert texts_to(kos, chat) == ["🔔 Meter Kamar 1 berbunyi: token hampir habis."]


async def test_a_slot_summary_tells_each_chat_only_its_rooms(kos: Bot) -> None:
    """One summary per chat per slot: the owners' covers the three rooms, a tenant's
    only its own, with the photo of its room when that needs attention."""
    outcomes = [await kos.core.checks.check(f"kamar{n}", "cli") for n in (1, 2, 3)]
    broken = [
        replace(o, reading=replace(o.reading, kwh=None, status=ReadingStatus.UNREADABLE))
        for o in outcomes[:2]
    ]
    await TelegramNotifier(kos.app).notify(SlotSummary((*broken, outcomes[2])))
    owner_texts = [t for t in texts_to(kos, OWNER) if "Cek terjadwal" in t]
    assert owner_texts == [
        "⚠️ Cek terjadwal · 1 meter OK, 2 gagal dicek: Kamar 1 (tidak terbaca), "
        "Kamar 2 (tidak terbaca)"
    ]
    assert [t for t in texts_to(kos, TENANT) if "Cek terjadwal" in t] == [
        "⚠️ Cek terjadwal · 0 meter OK, 1 gagal dicek: Kamar 1 (tidak terbaca)"
    ]
    two_rooms = [t for t in texts_to(kos, TWO_ROOMS) if "Cek terjadwal" in t]
    assert len(two_rooms) == 1 and "Kamar 2" not in two_rooms[0]
    tenant_photos = kos.api.calls_of("sendPhoto", TENANT)
    assert [c.text for c in tenant_photos] == ["Kamar 1: tidak terbaca"]
    assert len(kos.api.calls_of("sendMediaGroup", OWNER)) == 1  # Kamar 1 and 2 together


async def test_a_cli_top_up_is_announced_to_the_rooms_people_only(kos: Bot) -> None:
    """A top-up started elsewhere (the CLI) is announced to the owners and the people
    of that room, never to another room's tenant."""
    started = await kos.core.topups.start("kamar3", "71203948561029384756", "cli")
    await kos.core.topups.wait("kamar3", started.id, timeout=20)

    def announced(chat: int) -> list[str]:
        return [t for t in texts_to(kos, chat) if t.startswith("Isi token dari")]

    assert await kos.api.until(lambda: all(announced(c) for c in (*OWNERS, TWO_ROOMS)))
    assert "****-****-****-****-4756" in announced(TWO_ROOMS)[0]
    assert announced(TENANT) == [] and texts_to(kos, TENANT) == []
