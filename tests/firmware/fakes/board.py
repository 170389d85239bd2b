"""Fake ``machine``, ``network``, ``ntptime`` and ``camera`` modules around one Board
that records pin levels with timestamps, models a DS3231 and counts watchdog feeds."""

from __future__ import annotations

import calendar
import time as real_time
import types
import weakref
from collections.abc import Callable
from typing import Any

from tests.firmware.fakes.clock import FakeTime

PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
ENODEV = 19
ECONNREFUSED = 111


def _bcd(value: int) -> int:
    return (value >> 4) * 10 + (value & 0x0F)


def _to_bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


class DS3231Model:
    """The DS3231's 19 registers (0x00-0x12), auto-incrementing, wrapping at the end.

    Once its time has been written over I2C the oscillator runs on the test clock
    (24-hour mode); registers poked directly by a test stay as they are.
    """

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.regs = bytearray(0x13)
        self.regs[0x0F] = 0x80  # OSF set: a fresh chip has not been set
        self.regs[0x11], self.regs[0x12] = 0x19, 0x40  # 25.25 °C
        self._base: int | None = None
        self._set_ms = 0

    def read(self, reg: int, count: int) -> bytes:
        if self._base is not None and reg < 7:
            self._run()
        return bytes(self.regs[(reg + i) % len(self.regs)] for i in range(count))

    def write(self, reg: int, data: bytes) -> None:
        for i, byte in enumerate(data):
            self.regs[(reg + i) % len(self.regs)] = byte
        if reg < 7:
            r = self.regs
            self._base = calendar.timegm(
                (2000 + _bcd(r[6]), _bcd(r[5] & 0x1F), _bcd(r[4]), _bcd(r[2] & 0x3F),
                 _bcd(r[1]), _bcd(r[0]), 0, 0, 0)
            )  # fmt: skip
            self._set_ms = self.clock.ms

    def _run(self) -> None:
        assert self._base is not None
        t = real_time.gmtime(self._base + (self.clock.ms - self._set_ms) // 1000)
        values = (t.tm_sec, t.tm_min, t.tm_hour, t.tm_wday + 1, t.tm_mday, t.tm_mon)
        self.regs[0:6] = bytes(_to_bcd(v) if i != 3 else v for i, v in enumerate(values))
        self.regs[6] = _to_bcd(t.tm_year - 2000)


class Board:
    """Everything the fake modules share in one test: pins by GPIO number, I2C
    devices by address, the Wi-Fi access point, the watchdog, the reset cause."""

    def __init__(self, clock: FakeTime) -> None:
        self.clock = clock
        self.pins: dict[int, FakePin] = {}
        self.pin_listeners: list[Callable[[int, int], None]] = []  # (gpio, level) on writes
        self.i2c_devices: dict[int, DS3231Model] = {0x68: DS3231Model(clock)}
        self.wifi_up = True
        self.wifi_connects = 0
        self.wdt: FakeWDT | None = None
        self.reset_cause = PWRON_RESET
        self.ntp_time: tuple[int, ...] = (2026, 11, 20, 6, 0, 30)
        self.ntp_up = True
        self.ntp_syncs = 0
        self.camera = FakeCamera(self)


class FakePin:
    IN, OUT, OPEN_DRAIN = 1, 3, 7
    PULL_UP, PULL_DOWN = 2, 1
    IRQ_RISING, IRQ_FALLING = 1, 2

    board: Board  # set on the per-test subclass

    def __init__(self, gpio: int, mode: int = -1, pull: int = -1, *, value: int | None = None):
        previous = self.board.pins.get(gpio)
        self.gpio = gpio
        self.mode = mode
        self.level: int = previous.level if previous is not None else 0
        self.history: list[tuple[int, int]] = []
        self.irq_handler: Callable[[FakePin], None] | None = None
        self.irq_trigger = 0
        self.board.pins[gpio] = self
        if value is not None:
            self.value(value)

    def value(self, level: int | None = None) -> int | None:
        if level is None:
            return self.level
        self.level = 1 if level else 0
        self.history.append((self.board.clock.ms, self.level))
        for listener in self.board.pin_listeners:
            listener(self.gpio, self.level)
        return None

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def irq(self, handler: Callable[[FakePin], None] | None = None, trigger: int = 3) -> None:
        self.irq_handler, self.irq_trigger = handler, trigger

    def drive(self, level: int) -> None:
        """The outside world sets an input: fires the IRQ on a matching edge."""
        before, self.level = self.level, 1 if level else 0
        rising = before == 0 and self.level == 1
        falling = before == 1 and self.level == 0
        if self.irq_handler and (
            (rising and self.irq_trigger & self.IRQ_RISING)
            or (falling and self.irq_trigger & self.IRQ_FALLING)
        ):
            self.irq_handler(self)


class FakeI2C:
    board: Board

    def __init__(self, bus: int, *, scl: Any = None, sda: Any = None, freq: int = 400000):
        self.bus, self.freq = bus, freq

    def _device(self, addr: int) -> DS3231Model:
        device = self.board.i2c_devices.get(addr)
        if device is None:
            raise OSError(ENODEV)
        return device

    def scan(self) -> list[int]:
        return sorted(self.board.i2c_devices)

    def readfrom_mem(self, addr: int, reg: int, count: int) -> bytes:
        return self._device(addr).read(reg, count)

    def writeto_mem(self, addr: int, reg: int, data: bytes) -> None:
        self._device(addr).write(reg, bytes(data))


class FakeWDT:
    board: Board

    def __init__(self, id: int = 0, timeout: int = 5000):
        self.timeout = timeout
        self.feeds = 0
        self.fail_at: int | None = None  # raise on this feed: a crash mid-sequence
        self.board.wdt = self

    def feed(self) -> None:
        self.feeds += 1
        if self.feeds == self.fail_at:
            raise RuntimeError("simulated crash")


class FakeRTC:
    board: Board

    def datetime(self, value: tuple[int, ...] | None = None) -> tuple[int, ...] | None:
        clock = self.board.clock
        if value is None:
            t = real_time.gmtime(clock.wall)
            return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_wday, t.tm_hour, t.tm_min, t.tm_sec, 0)
        year, month, day, _wd, hour, minute, second = value[:7]
        clock.set_wall((year, month, day, hour, minute, second))
        return None


class FakeWLAN:
    board: Board

    def __init__(self, interface: int = 0):
        self._active = False
        self._joined = False

    def active(self, state: bool | None = None) -> bool:
        if state is not None:
            self._active = state
        return self._active

    def connect(self, ssid: str, password: str) -> None:
        self.board.wifi_connects += 1
        self._joined = self._active and self.board.wifi_up

    def isconnected(self) -> bool:
        if not self.board.wifi_up:
            self._joined = False  # the access point went away: join again
        return self._joined

    def disconnect(self) -> None:
        self._joined = False

    def ifconfig(self) -> tuple[str, str, str, str]:
        return ("192.168.1.50", "255.255.255.0", "192.168.1.1", "192.168.1.1")


class Frame(bytearray):
    """A JPEG frame the test can watch die (bytearray subclasses take weak references)."""


class FakeCamera:
    """The lemariva ``camera`` module: records the flash level at each capture."""

    JPEG, PSRAM, DRAM = 4, 1, 0
    FRAME_VGA, FRAME_SVGA = 8, 9

    def __init__(self, board: Board) -> None:
        self.board = board
        self.initialised = False
        self.init_ok = True
        self.framesize_set: int | None = None
        self.quality_set: int | None = None
        self.flash_at_capture: list[int] = []
        self.frames: list[weakref.ref[Frame]] = []
        self.fail_next = 0

    def init(self, index: int, **kwargs: Any) -> bool:
        self.initialised = self.init_ok
        return self.init_ok

    def deinit(self) -> None:
        self.initialised = False

    def framesize(self, size: int) -> None:
        self.framesize_set = size

    def quality(self, value: int) -> None:
        self.quality_set = value

    def capture(self) -> Frame | bool:
        if not self.initialised:
            raise OSError("camera not initialised")
        flash = self.board.pins.get(4)
        self.flash_at_capture.append(flash.level if flash else -1)
        if self.fail_next:
            self.fail_next -= 1
            return False
        frame = Frame(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40 + b"\xff\xd9")
        self.frames.append(weakref.ref(frame))
        return frame


def make_modules(board: Board) -> dict[str, types.ModuleType]:
    """Fresh ``machine``, ``network``, ``ntptime`` and ``camera`` modules for one test."""
    attrs = {"board": board}
    machine = types.ModuleType("machine")
    machine.Pin = type("Pin", (FakePin,), attrs)  # type: ignore[attr-defined]
    machine.I2C = type("I2C", (FakeI2C,), attrs)  # type: ignore[attr-defined]
    machine.WDT = type("WDT", (FakeWDT,), attrs)  # type: ignore[attr-defined]
    machine.RTC = type("RTC", (FakeRTC,), attrs)  # type: ignore[attr-defined]
    for name, value in (
        ("PWRON_RESET", PWRON_RESET),
        ("HARD_RESET", HARD_RESET),
        ("WDT_RESET", WDT_RESET),
        ("DEEPSLEEP_RESET", DEEPSLEEP_RESET),
        ("SOFT_RESET", SOFT_RESET),
    ):
        setattr(machine, name, value)
    machine.reset_cause = lambda: board.reset_cause  # type: ignore[attr-defined]

    network = types.ModuleType("network")
    network.STA_IF, network.AP_IF = 0, 1  # type: ignore[attr-defined]
    network.WLAN = type("WLAN", (FakeWLAN,), attrs)  # type: ignore[attr-defined]

    ntptime = types.ModuleType("ntptime")
    ntptime.host = "pool.ntp.org"  # type: ignore[attr-defined]

    def settime() -> None:
        if not board.ntp_up:
            raise OSError(110)  # ETIMEDOUT
        board.ntp_syncs += 1
        board.clock.wall = float(calendar.timegm((*board.ntp_time[:6], 0, 0, 0)))

    ntptime.settime = settime  # type: ignore[attr-defined]

    camera = types.ModuleType("camera")
    for name in dir(board.camera):
        if name.isupper() or (not name.startswith("_") and callable(getattr(board.camera, name))):
            setattr(camera, name, getattr(board.camera, name))
    return {"machine": machine, "network": network, "ntptime": ntptime, "camera": camera}
