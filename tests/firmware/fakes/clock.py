"""A fake MicroPython ``time`` module driven by a virtual clock that records sleeps."""

from __future__ import annotations

import calendar
import threading
import time as real_time
from typing import Any

TICKS_PERIOD = 1 << 30  # the ESP32 port's ticks wrap here
_HALF = TICKS_PERIOD // 2


class FakeTime:
    """``ticks_ms``/``sleep_ms`` advance virtual milliseconds; ``scale`` > 0 also
    sleeps that fraction of real time (for tests with real sockets and threads).

    The ticks counter starts a few seconds before it wraps, so every test also
    checks that the firmware uses ``ticks_diff``/``ticks_add``.
    """

    def __init__(self, wall: tuple[int, ...] = (2026, 11, 20, 5, 58, 0), scale: float = 0.0):
        self.ms = TICKS_PERIOD - 3000
        self.wall = float(calendar.timegm((*wall[:6], 0, 0, 0)))
        self.scale = scale
        self.sleeps: list[int] = []
        self.lock = threading.RLock()

    # -- test helpers ------------------------------------------------------
    def advance(self, ms: int) -> None:
        with self.lock:
            self.ms += ms
            self.wall += ms / 1000

    def set_wall(self, value: tuple[int, ...]) -> None:
        self.wall = float(calendar.timegm((*value[:6], 0, 0, 0)))

    # -- the MicroPython API -----------------------------------------------
    def ticks_ms(self) -> int:
        return self.ms % TICKS_PERIOD

    def ticks_add(self, ticks: int, delta: int) -> int:
        return (ticks + delta) % TICKS_PERIOD

    def ticks_diff(self, end: int, start: int) -> int:
        return ((end - start + _HALF) % TICKS_PERIOD) - _HALF

    def sleep_ms(self, ms: int) -> None:
        self.sleeps.append(ms)
        self.advance(ms)
        if self.scale:
            real_time.sleep(ms * self.scale / 1000)

    def sleep(self, seconds: float) -> None:
        self.sleep_ms(int(seconds * 1000))

    def sleep_us(self, us: int) -> None:
        self.advance(us // 1000)

    def time(self) -> int:
        return int(self.wall)

    def gmtime(self, secs: float | None = None) -> tuple[int, ...]:
        value = real_time.gmtime(self.wall if secs is None else secs)
        return tuple(value)[:8]

    localtime = gmtime

    def mktime(self, value: tuple[int, ...]) -> int:
        return calendar.timegm((*value[:6], 0, 0, 0))

    def __getattr__(self, name: str) -> Any:
        return getattr(real_time, name)  # anything else behaves like CPython's


class FakeGc:
    """``gc`` with MicroPython's ``mem_free`` and a count of collections."""

    def __init__(self) -> None:
        self.collections = 0

    def collect(self) -> None:
        self.collections += 1

    def mem_free(self) -> int:
        return 100_000

    def mem_alloc(self) -> int:
        return 20_000
