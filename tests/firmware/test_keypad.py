"""The keypad driver (timed presses through relays) and the command journal."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tests.firmware.conftest import Firmware

TOKEN = "12345678901234567890"
KEYS = [*"0123456789", "enter", "backspace"]


def make_driver(esp32: Firmware, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
    keypad = esp32.load("keypad")
    machine = esp32.load("machine")
    pins = {key: machine.Pin(20 + i, machine.Pin.OUT) for i, key in enumerate(KEYS)}
    return keypad.KeypadDriver(pins, **kwargs), pins


def presses(pins: dict[str, Any], on_level: int = 0) -> list[tuple[str, int, int]]:
    """(key, pressed at ms, released at ms) in time order, from the recorded levels."""
    found = []
    for key, pin in pins.items():
        start = None
        for ms, level in pin.history:
            if level == on_level and start is None:
                start = ms
            elif level != on_level and start is not None:
                found.append((key, start, ms))
                start = None
        assert start is None, f"relay {key} left pressed"
    return sorted(found, key=lambda item: item[1])


def test_token_is_typed_as_timed_presses_one_key_at_a_time(esp32: Firmware) -> None:
    """20 digits then Enter: 65 ms presses, 500 ms gaps, never two relays at once."""
    driver, pins = make_driver(esp32, active_low=True, press_ms=65, gap_ms=500)
    assert all(pin.level == 1 for pin in pins.values())  # active-low: released
    pressed = driver.type_digits(TOKEN)
    assert pressed == 21
    seen = presses(pins)
    assert [key for key, _, _ in seen] == [*TOKEN, "enter"]
    assert all(end - start == 65 for _, start, end in seen)
    starts = [start for _, start, _ in seen]
    assert all(b - a == 565 for a, b in itertools.pairwise(starts))
    assert all(pin.level == 1 for pin in pins.values())


def test_active_high_board_and_backspace_clear(esp32: Firmware) -> None:
    """An active-high relay board is driven with 1; Backspace presses come first."""
    driver, pins = make_driver(esp32, active_low=False, press_ms=10, gap_ms=20)
    assert driver.type_digits("42", enter=False, clear=2) == 4
    assert [key for key, _, _ in presses(pins, on_level=1)] == ["backspace", "backspace", "4", "2"]
    assert all(pin.level == 0 for pin in pins.values())


@pytest.mark.parametrize("keys", ["1234-5678", "12a4", "", "１２３", None])
def test_anything_but_digits_is_refused_before_a_press(esp32: Firmware, keys: Any) -> None:
    """Dashes, letters, empty, non-ASCII digits and non-strings press nothing."""
    keypad = esp32.load("keypad")
    driver, pins = make_driver(esp32)
    before = {key: list(pin.history) for key, pin in pins.items()}
    with pytest.raises(keypad.KeypadError):
        driver.type_digits(keys)
    assert {key: pin.history for key, pin in pins.items()} == before


def test_failure_mid_sequence_releases_every_relay(esp32: Firmware) -> None:
    """An exception after the 7th key leaves all relays released and the driver usable."""
    calls = []

    def feed() -> None:
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt

    driver, pins = make_driver(esp32, feed=feed)
    with pytest.raises(KeyboardInterrupt):
        driver.type_digits(TOKEN)
    assert all(pin.level == 1 for pin in pins.values())
    assert len(presses(pins)) == 6
    assert not driver.busy
    assert driver.type_digits("5", enter=False) == 1


def test_a_driver_without_a_pin_for_every_key_is_refused(esp32: Firmware) -> None:
    """Building a driver with a key missing from the pin map fails loudly."""
    keypad = esp32.load("keypad")
    machine = esp32.load("machine")
    with pytest.raises(ValueError, match="enter"):
        keypad.KeypadDriver({str(d): machine.Pin(d) for d in range(10)})


def test_journal_keeps_the_last_16_ids_across_reboots(esp32: Firmware, tmp_path: Path) -> None:
    """Results survive a new journal on the same file; the 17th id pushes out the 1st."""
    keypad = esp32.load("keypad")
    path = str(tmp_path / "ids.json")
    journal = keypad.CommandJournal(path)
    for i in range(17):
        journal.put(f"id{i}", {"id": f"id{i}", "ok": True})
    rebooted = keypad.CommandJournal(path)
    assert rebooted.get("id0") is None
    assert rebooted.get("id16") == {"id": "id16", "ok": True}
    assert len(rebooted.ids()) == 16


def test_journal_survives_a_reset_during_its_own_write(esp32: Firmware, tmp_path: Path) -> None:
    """A reset between removing the file and renaming the new one loses nothing."""
    keypad = esp32.load("keypad")
    path = tmp_path / "ids.json"
    keypad.CommandJournal(str(path)).put("a", {"ok": True})
    path.rename(tmp_path / "ids.json.tmp")
    assert keypad.CommandJournal(str(path)).get("a") == {"ok": True}


def test_journal_ignores_a_corrupt_file(esp32: Firmware, tmp_path: Path) -> None:
    """Garbage in flash gives an empty journal instead of a boot loop."""
    keypad = esp32.load("keypad")
    path = tmp_path / "ids.json"
    path.write_text("{not json")
    assert keypad.CommandJournal(str(path)).ids() == []
