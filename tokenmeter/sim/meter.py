"""A simulated prepaid meter: the balance falls with a daily load profile, a typed
20-digit token adds credit derived from the token, and its LCD is drawn by the
project's renderer.

Time runs on a scalable clock (``clock_scale`` simulated seconds per wall second)
so tests can watch a day pass in seconds. State may live in a small JSON file so
successive command-line runs see the same meter.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tokenmeter.domain import TOKEN_DIGITS, TOKEN_MAX

log = logging.getLogger(__name__)

# Average load in kW for each hour of the day (a small Indonesian household).
DEFAULT_LOAD_KW: tuple[float, ...] = (
    (0.25,) * 5 + (0.45, 0.6, 0.5) + (0.3,) * 9 + (0.7, 0.9, 0.9, 0.8, 0.6) + (0.35, 0.3)
)
MAX_KWH = 99999.99
ERROR_TEXT = {"used": "----1", "invalid": "----2"}  # the renderer draws digits and "-"


@dataclass
class MeterState:
    """What persists between runs."""

    kwh: float
    at: float  # wall-clock epoch seconds when ``kwh`` was true
    used: list[str] = field(default_factory=list)  # hashes of accepted tokens


def token_credit(digits: str) -> float:
    """Credit a token adds, derived from its digits (10.00-209.99 kWh)."""
    value = int(hashlib.sha256(digits.encode()).hexdigest()[:8], 16)
    return round(10 + (value % 20000) / 100, 2)


def _token_hash(digits: str) -> str:
    return hashlib.sha256(f"sim:{digits}".encode()).hexdigest()[:24]


class SimulatedMeter:
    """One meter. Thread-safe: the HTTP camera and the keypad device share it."""

    def __init__(
        self,
        meter_id: str,
        *,
        start_kwh: float = 120.0,
        clock_scale: float = 1.0,
        load_kw: tuple[float, ...] = DEFAULT_LOAD_KW,
        state_path: Path | None = None,
        error_display_s: float = 3.0,
        utc_offset_hours: int = 7,
    ) -> None:
        if len(load_kw) != 24:
            raise ValueError("load_kw needs one value per hour (24)")
        self.meter_id = meter_id
        self.clock_scale = clock_scale
        self.load_kw = load_kw
        self.state_path = state_path
        self.error_display_s = error_display_s
        self.utc_offset_s = utc_offset_hours * 3600
        self.seed = zlib.crc32(meter_id.encode())
        self.keys_pressed = 0
        self.last_shown = ""
        self.on_photo: Callable[[str, bytes], None] | None = None  # (text shown, jpeg)
        self.tokens_accepted = 0
        self._lock = threading.Lock()
        self._buffer = ""
        self._error = ""
        self._error_until = 0.0
        self._state = self._load(start_kwh)

    # -- state ----------------------------------------------------------------
    def _load(self, start_kwh: float) -> MeterState:
        now = time.time()
        if self.state_path is not None and self.state_path.exists():
            try:
                raw = json.loads(self.state_path.read_text(encoding="utf-8"))
                return MeterState(float(raw["kwh"]), float(raw["at"]), list(raw.get("used", [])))
            except (ValueError, KeyError, TypeError, OSError):
                log.warning("simulated meter state %s unreadable; starting afresh", self.state_path)
        return MeterState(start_kwh, now)

    def _save(self) -> None:
        if self.state_path is None:
            return
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"kwh": self._state.kwh, "at": self._state.at, "used": self._state.used}),
            encoding="utf-8",
        )
        tmp.replace(self.state_path)

    def _advance(self, now: float) -> None:
        """Bring the balance up to ``now`` (wall clock) by integrating the load."""
        state = self._state
        if now <= state.at:
            return
        sim_start = state.at * self.clock_scale + self.utc_offset_s
        sim_end = now * self.clock_scale + self.utc_offset_s
        used = 0.0
        t = sim_start
        while t < sim_end:
            hour_end = (t // 3600 + 1) * 3600
            step = min(hour_end, sim_end) - t
            used += self.load_kw[int(t // 3600) % 24] * step / 3600
            t += step
        state.kwh = max(0.0, state.kwh - used)
        state.at = now

    # -- what the camera sees -------------------------------------------------
    @property
    def kwh(self) -> float:
        """The true balance now (tests compare against it; services never see it)."""
        with self._lock:
            self._advance(time.time())
            return round(self._state.kwh, 2)

    def display_text(self) -> str:
        """What the LCD shows: the balance, the digits being typed, or an error."""
        with self._lock:
            now = time.time()
            self._advance(now)
            if self._error and time.monotonic() < self._error_until:
                return self._error
            if self._buffer:
                return self._buffer[-8:]
            return f"{self._state.kwh:.2f}"

    def photo_jpeg(self, size: tuple[int, int] = (640, 480), quality: int = 88) -> bytes:
        """A photo of the display (fixed style per meter) as JPEG bytes."""
        import cv2

        from tokenmeter.sim.render import render_photo

        shown = self.display_text()
        photo = render_photo(shown, seed=self.seed, size=size)
        ok, encoded = cv2.imencode(".jpg", photo.image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:  # pragma: no cover - OpenCV always encodes a valid image
            raise RuntimeError("JPEG encoding failed")
        jpeg = bytes(encoded.tobytes())
        self.last_shown = shown
        if self.on_photo is not None:
            self.on_photo(shown, jpeg)
        return jpeg

    # -- the keypad -----------------------------------------------------------
    def press(self, key: str) -> None:
        """One key: a digit, ``"BACK"`` or ``"ENTER"``."""
        with self._lock:
            self.keys_pressed += 1
            self._error = ""
            if key == "ENTER":
                digits, self._buffer = self._buffer, ""
                self._enter(digits)
            elif key == "BACK":
                self._buffer = self._buffer[:-1]
            elif len(key) == 1 and key.isdigit():
                self._buffer = (self._buffer + key)[-32:]
            else:
                raise ValueError(f"no key {key!r} on the meter")

    def _enter(self, digits: str) -> None:
        self._advance(time.time())
        if len(digits) != TOKEN_DIGITS or int(digits or "0") > TOKEN_MAX:
            self._show_error("invalid")
            return
        hashed = _token_hash(digits)
        if hashed in self._state.used:
            self._show_error("used")
            return
        self._state.used.append(hashed)
        self._state.kwh = min(MAX_KWH, self._state.kwh + token_credit(digits))
        self.tokens_accepted += 1
        self._save()

    def _show_error(self, kind: str) -> None:
        self._error = ERROR_TEXT[kind]
        self._error_until = time.monotonic() + self.error_display_s

    def save(self) -> None:
        """Write the state file now (balance as of this moment)."""
        with self._lock:
            self._advance(time.time())
            self._save()
