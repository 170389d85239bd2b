"""The keypad board's app, built by main.build from the example config: commands,
duplicates across reboots, events, the schedule fallback and NTP -> DS3231."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.firmware.conftest import Firmware
from tests.firmware.test_keypad import presses

TOKEN = "12345678901234567890"
P = "tokenmeter/rumah/"


class Board:
    """Boots the firmware (again, for a reboot) on the same flash directory."""

    def __init__(self, esp32: Firmware, flash: Path, **overrides: Any) -> None:
        self.esp32 = esp32
        self.flash = flash
        self.cfg = esp32.example_config(**overrides)
        self.app: Any = None
        self.boot()

    def boot(self) -> Any:
        main = self.esp32.load("main")
        self.app = main.build(
            self.cfg,
            journal_path=str(self.flash / "keypad_ids.json"),
            schedule_path=str(self.flash / "schedule.json"),
        )
        return self.app

    def reboot(self) -> Any:
        self.esp32.broker.drop()  # the old session dies with the board
        return self.boot()

    def relays(self) -> dict[str, Any]:
        return {key: self.esp32.board.pins[gpio] for key, gpio in self.cfg.KEY_PINS.items()}

    def steps(self, count: int = 5) -> None:
        for _ in range(count):
            self.app.step()
            self.esp32.clock.advance(self.app.loop_ms)

    def command(self, command_id: str, keys: Any = TOKEN) -> None:
        if not self.app.link.connected:
            self.steps(1)
        self.esp32.broker.inject(P + "keypad/cmd", {"id": command_id, "keys": keys, "enter": True})
        self.steps()

    def results(self) -> list[dict[str, Any]]:
        return self.esp32.broker.on(P + "keypad/result")


@pytest.fixture
def board(esp32: Firmware, tmp_path: Path) -> Board:
    return Board(esp32, tmp_path)


def test_relays_are_released_from_the_first_instant(board: Board) -> None:
    """Every relay pin starts at the released level (1 on an active-low board)."""
    for pin in board.relays().values():
        assert pin.history[0][1] == 1
        assert {level for _, level in pin.history} == {1}


def test_a_command_is_typed_and_answered(board: Board) -> None:
    """keypad/cmd -> 20 digits + Enter pressed -> keypad/result ok, QoS 1."""
    board.command("c1")
    assert [key for key, _, _ in presses(board.relays())] == [*TOKEN, "enter"]
    [result] = board.results()
    assert result["id"] == "c1" and result["ok"] is True and result["pressed"] == 21
    assert result["error"] is None and result["rtc"].endswith("Z")
    message = next(m for m in board.esp32.broker.published if m.topic.endswith("keypad/result"))
    assert message.qos == 1


def test_a_repeated_id_is_answered_without_pressing_even_after_reboot(board: Board) -> None:
    """The same id is pressed once; the repeat (also after a reboot) gets the same answer."""
    board.command("c1")
    board.command("c1")
    assert len(presses(board.relays())) == 21
    board.reboot()
    board.steps()
    board.command("c1")
    assert presses(board.relays()) == []
    first, second, third = board.results()
    assert first == second == third


def test_a_crash_mid_token_is_never_typed_again(board: Board) -> None:
    """A reset after 7 keys leaves relays released; the repeat answers "interrupted"."""
    board.steps()
    wdt = board.esp32.board.wdt
    assert wdt is not None
    wdt.fail_at = wdt.feeds + 8  # the loop's feed, then 7 key presses
    board.esp32.broker.inject(P + "keypad/cmd", {"id": "c1", "keys": TOKEN})
    with pytest.raises(RuntimeError, match="simulated crash"):
        board.steps()
    assert len(presses(board.relays())) == 6
    assert all(pin.level == 1 for pin in board.relays().values())
    board.reboot()
    board.steps()
    board.command("c1")
    assert presses(board.relays()) == []
    [result] = board.results()
    assert result["ok"] is False and result["error"] == "interrupted" and result["pressed"] == 0


def test_non_digit_keys_are_refused_without_pressing(board: Board) -> None:
    """A token with a dash is answered ok=false, error not_digits, nothing pressed."""
    board.command("bad", keys="1234-5678-9012-3456-7890")
    assert presses(board.relays()) == []
    [result] = board.results()
    assert (result["ok"], result["pressed"], result["error"]) == (False, 0, "not_digits")


def test_two_commands_are_typed_one_after_the_other(board: Board) -> None:
    """Two commands arriving together never interleave: Enter of the first comes first."""
    broker = board.esp32.broker
    board.steps(1)
    broker.inject(P + "keypad/cmd", {"id": "a", "keys": "111"})
    broker.inject(P + "keypad/cmd", {"id": "b", "keys": "222"})
    board.steps()
    keys = [key for key, _, _ in presses(board.relays())]
    assert keys == ["1", "1", "1", "enter", "2", "2", "2", "enter"]
    assert [r["id"] for r in board.results()] == ["a", "b"]


def test_a_beep_becomes_an_event_with_rtc_time(board: Board) -> None:
    """A sustained sound on the buzzer pin publishes {"type": "beep", "rtc": ...}."""
    board.steps()
    board.esp32.board.pins[board.cfg.BUZZER_PIN].drive(1)
    board.steps(10)
    board.esp32.board.pins[board.cfg.BUZZER_PIN].drive(0)
    board.steps(10)
    [event] = board.esp32.broker.on(P + "event")
    assert event == {"type": "beep", "rtc": "2026-11-20T06:00:30Z"}  # NTP time


def test_ntp_sets_the_ds3231_and_status_reports_it(board: Board) -> None:
    """Online, the board syncs NTP into the DS3231; the retained status carries rtc, reset."""
    board.steps(2)
    assert board.esp32.board.ntp_syncs == 1
    assert board.app.rtc.datetime()[:6] == (2026, 11, 20, 6, 0, 30)
    board.reboot()
    board.steps(2)
    status = board.esp32.broker.on(P + "status")[-1]
    assert status["online"] is True and status["device"] == "keypad"
    assert status["reset"] == "power_on" and status["temp"] == 25.25
    assert status["rtc"].startswith("2026-11-20T06:00")


def test_missed_slot_while_offline_is_reported_when_back(board: Board) -> None:
    """Broker down at 06:00 (Asia/Jakarta): rtc_check goes out after reconnecting."""
    esp32 = board.esp32
    board.steps()
    esp32.broker.inject(P + "schedule", {"times": ["06:00", "18:00"]}, retain=True)
    board.steps()
    board.app.rtc.set_datetime((2026, 11, 20, 22, 59, 50, 4))  # 05:59:50 WIB
    esp32.broker.up = False
    esp32.broker.drop()
    board.steps(1)
    esp32.clock.advance(20_000)
    board.steps(1)  # 06:00:10 WIB, offline
    assert esp32.broker.on(P + "event") == []
    esp32.broker.up = True
    esp32.clock.advance(5_000)
    board.steps(3)
    [event] = esp32.broker.on(P + "event")
    assert event == {"type": "rtc_check", "rtc": "2026-11-20T23:00:10Z", "slot": "06:00"}


@pytest.mark.parametrize(("always", "expected"), [(False, 0), (True, 1)])
def test_slot_while_online_is_left_to_the_pc(
    esp32: Firmware, tmp_path: Path, always: bool, expected: int
) -> None:
    """Connected at the slot: no rtc_check, unless RTC_CHECK_ALWAYS is set."""
    board = Board(esp32, tmp_path, RTC_CHECK_ALWAYS=always)
    board.steps()  # NTP: 06:00:30 UTC = 13:00:30 WIB
    esp32.broker.inject(P + "schedule", {"times": ["13:01"]}, retain=True)
    board.steps()
    esp32.clock.advance(60_000)
    board.steps()
    assert len(esp32.broker.on(P + "event")) == expected


def test_schedule_survives_a_reboot_without_broker(board: Board) -> None:
    """The last retained schedule is kept in flash and used when booting offline."""
    esp32 = board.esp32
    esp32.broker.inject(P + "schedule", {"times": ["18:00", "6:00", "bad"]}, retain=True)
    board.steps()
    esp32.broker.up = False
    app = board.reboot()
    assert app.slots == [6 * 60, 18 * 60]


def test_disabled_schedule_has_no_slots(board: Board) -> None:
    """enabled=false clears the fallback slots."""
    board.esp32.broker.inject(P + "schedule", {"times": ["06:00"], "enabled": False}, retain=True)
    board.steps()
    assert board.app.slots == []


def test_rtc_time_falls_back_to_the_esp32_clock_without_ds3231(board: Board) -> None:
    """A missing DS3231 does not stop events: the ESP32's own clock is used."""
    board.steps(2)
    board.esp32.board.i2c_devices.clear()
    assert board.app.rtc_iso().startswith("2026-11-20T06:00")


def test_a_query_for_an_unknown_id_is_answered_unknown_id(board: Board) -> None:
    """Empty keys with enter=false asks about an id: unknown -> unknown_id, nothing typed."""
    board.steps(1)
    broker = board.esp32.broker
    broker.inject(P + "keypad/cmd", {"id": "q", "keys": "", "enter": False})
    board.steps()
    board.command("q")  # a later real command with that id is still typed
    first, second = board.results()
    assert (first["ok"], first["error"], first["pressed"]) == (False, "unknown_id", 0)
    assert second["ok"] is True and len(presses(board.relays())) == 21
    broker.inject(P + "keypad/cmd", {"id": "q", "keys": "", "enter": False})
    board.steps()
    assert board.results()[-1] == second


def test_watchdog_and_reset_cause_come_from_the_config_and_the_chip(
    esp32: Firmware, tmp_path: Path
) -> None:
    """The WDT gets WDT_TIMEOUT_MS and is fed by the loop; a watchdog reset is reported."""
    esp32.board.reset_cause = 3  # machine.WDT_RESET
    board = Board(esp32, tmp_path, WDT_TIMEOUT_MS=45000)
    board.steps(3)
    wdt = esp32.board.wdt
    assert wdt is not None and wdt.timeout == 45000 and wdt.feeds >= 3
    assert esp32.broker.on(P + "status")[-1]["reset"] == "watchdog"
