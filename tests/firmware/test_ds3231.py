"""The DS3231 driver against a register model of the chip."""

from __future__ import annotations

from typing import Any

import pytest

from tests.firmware.conftest import Firmware


def make_rtc(esp32: Firmware) -> tuple[Any, Any]:
    ds3231 = esp32.load("ds3231")
    machine = esp32.load("machine")
    i2c = machine.I2C(0, scl=machine.Pin(22), sda=machine.Pin(21))
    return ds3231.DS3231(i2c), esp32.board.i2c_devices[0x68]


def test_set_datetime_writes_bcd_registers_and_reads_back(esp32: Firmware) -> None:
    """2026-11-20 21:59:58 Friday becomes BCD 58 59 21 05 20 11 26 and round-trips."""
    rtc, chip = make_rtc(esp32)
    rtc.set_datetime((2026, 11, 20, 21, 59, 58, 4))
    assert bytes(chip.regs[0:7]) == bytes([0x58, 0x59, 0x21, 0x05, 0x20, 0x11, 0x26])
    assert rtc.datetime() == (2026, 11, 20, 21, 59, 58, 4)


@pytest.mark.parametrize(
    "value",
    [(2000, 1, 1, 0, 0, 0, 5), (2099, 12, 31, 23, 59, 59, 3), (2024, 2, 29, 12, 30, 7, 3)],
)
def test_round_trip_at_the_edges(esp32: Firmware, value: tuple[int, ...]) -> None:
    """First and last representable instants and a leap day survive a write and read."""
    rtc, _ = make_rtc(esp32)
    rtc.set_datetime(value)
    assert rtc.datetime() == value


def test_twelve_hour_mode_written_by_another_tool_is_read_as_24_hours(esp32: Firmware) -> None:
    """Hours register 0x71 (12-hour, PM, 11) reads as 23; 0x52 (12-hour, AM, 12) as 0."""
    rtc, chip = make_rtc(esp32)
    chip.regs[2] = 0x40 | 0x20 | 0x11
    assert rtc.datetime()[3] == 23
    chip.regs[2] = 0x40 | 0x12
    assert rtc.datetime()[3] == 0


def test_setting_the_time_clears_the_oscillator_stopped_flag(esp32: Firmware) -> None:
    """A fresh chip reports lost power until it is set."""
    rtc, chip = make_rtc(esp32)
    assert rtc.lost_power()
    rtc.set_datetime((2026, 1, 1, 0, 0, 0, 3))
    assert not rtc.lost_power()
    assert chip.regs[0x0F] & 0x80 == 0


@pytest.mark.parametrize(
    ("msb", "lsb", "celsius"),
    [(0x19, 0x40, 25.25), (0x00, 0x00, 0.0), (0xFF, 0xC0, -0.25), (0xE7, 0x80, -24.5)],
)
def test_temperature_is_signed_in_quarter_degrees(
    esp32: Firmware, msb: int, lsb: int, celsius: float
) -> None:
    """Registers 0x11/0x12 decode as two's complement plus 0.25 °C steps."""
    rtc, chip = make_rtc(esp32)
    chip.regs[0x11], chip.regs[0x12] = msb, lsb
    assert rtc.temperature() == celsius


def test_out_of_range_values_are_refused(esp32: Firmware) -> None:
    """Years outside 2000-2099 cannot be stored in the chip."""
    rtc, _ = make_rtc(esp32)
    with pytest.raises(ValueError):
        rtc.set_datetime((1999, 12, 31, 0, 0, 0))


def test_a_missing_chip_raises_oserror(esp32: Firmware) -> None:
    """No device at 0x68: the I2C error reaches the caller (the app falls back)."""
    rtc, _ = make_rtc(esp32)
    esp32.board.i2c_devices.clear()
    with pytest.raises(OSError):
        rtc.datetime()


def test_iso_formats_utc(esp32: Firmware) -> None:
    """Times on events are ISO 8601 UTC strings."""
    ds3231 = esp32.load("ds3231")
    assert ds3231.iso((2026, 3, 4, 5, 6, 7, 2)) == "2026-03-04T05:06:07Z"
