"""The beep detector: debounce, chatter bridging and cooldown."""

from __future__ import annotations

from typing import Any

from tests.firmware.conftest import Firmware


def make_detector(esp32: Firmware, **kwargs: Any) -> tuple[Any, Any]:
    buzzer = esp32.load("buzzer")
    machine = esp32.load("machine")
    pin = machine.Pin(34, machine.Pin.IN)
    return buzzer.BeepDetector(pin, **kwargs), pin


def hold(esp32: Firmware, detector: Any, pin: Any, level: int, ms: int, step: int = 5) -> int:
    """Keep the input at ``level`` for ``ms``, polling every ``step`` ms; count beeps."""
    pin.drive(level)
    beeps = 0
    for _ in range(ms // step):
        esp32.clock.advance(step)
        beeps += detector.poll()
    return beeps


def test_a_sustained_sound_is_one_beep(esp32: Firmware) -> None:
    """200 ms of sound gives exactly one beep."""
    detector, pin = make_detector(esp32, debounce_ms=40, cooldown_ms=60000)
    assert hold(esp32, detector, pin, 1, 200) + hold(esp32, detector, pin, 0, 100) == 1


def test_a_glitch_shorter_than_the_debounce_is_ignored(esp32: Firmware) -> None:
    """A 15 ms click, then silence, is not a beep."""
    detector, pin = make_detector(esp32, debounce_ms=40)
    assert hold(esp32, detector, pin, 1, 15) + hold(esp32, detector, pin, 0, 200) == 0


def test_a_chattering_sensor_is_bridged_by_its_edges(esp32: Firmware) -> None:
    """A sensor toggling every 2 ms (IRQ edges between polls) counts as one beep."""
    detector, pin = make_detector(esp32, debounce_ms=40, hold_ms=30)
    beeps = 0
    for i in range(100):  # 200 ms of 250 Hz chatter, polled every 10 ms
        pin.drive(i % 2)
        esp32.clock.advance(2)
        if i % 5 == 4:
            beeps += detector.poll()
    assert beeps + hold(esp32, detector, pin, 0, 100) == 1


def test_beeps_within_the_cooldown_are_not_repeated(esp32: Firmware) -> None:
    """A second beep 10 s later is swallowed; one after the cooldown counts again."""
    detector, pin = make_detector(esp32, debounce_ms=40, cooldown_ms=60000)
    assert hold(esp32, detector, pin, 1, 100) == 1
    hold(esp32, detector, pin, 0, 100)
    esp32.clock.advance(10_000)
    assert hold(esp32, detector, pin, 1, 100) == 0
    hold(esp32, detector, pin, 0, 100)
    esp32.clock.advance(60_000)
    assert hold(esp32, detector, pin, 1, 100) == 1
    assert detector.beeps == 2


def test_active_low_sensor(esp32: Firmware) -> None:
    """With active_high=False the sound is a low level."""
    detector, pin = make_detector(esp32, active_high=False, debounce_ms=40)
    pin.drive(1)
    detector.poll()
    assert hold(esp32, detector, pin, 0, 100) == 1
