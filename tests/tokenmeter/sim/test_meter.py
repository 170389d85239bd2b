"""Tests for tokenmeter.sim.meter."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from tokenmeter.sim.meter import ERROR_TEXT, SimulatedMeter, token_credit

TOKEN = "12345678901234567890"


def _type(meter: SimulatedMeter, keys: str) -> None:
    for key in keys:
        meter.press(key)
    meter.press("ENTER")


def test_balance_falls_with_the_load_over_scaled_time() -> None:
    """At 3600 simulated s per wall second the balance falls about 0.25-0.9 kWh a second."""
    meter = SimulatedMeter("m", start_kwh=100.0, clock_scale=3600.0)
    first = meter.kwh
    time.sleep(0.3)
    second = meter.kwh
    assert first > second
    assert 0.25 * 0.3 * 0.5 < first - second < 0.9 * 0.6


def test_balance_never_goes_below_zero() -> None:
    """An empty meter stays at 0.00."""
    meter = SimulatedMeter("m", start_kwh=0.01, clock_scale=360000.0)
    time.sleep(0.05)
    assert meter.kwh == 0.0
    assert meter.display_text() == "0.00"


def test_token_adds_its_credit_once() -> None:
    """A valid token adds the credit derived from it; the same token again shows an error."""
    meter = SimulatedMeter("m", start_kwh=50.0)
    _type(meter, TOKEN)
    assert abs(meter.kwh - (50.0 + token_credit(TOKEN))) < 0.05
    assert meter.tokens_accepted == 1
    _type(meter, TOKEN)
    assert meter.tokens_accepted == 1
    assert meter.display_text() == ERROR_TEXT["used"]


def test_malformed_token_shows_an_error() -> None:
    """19 digits or a value above 2^66-1 adds nothing and shows an error."""
    meter = SimulatedMeter("m", start_kwh=50.0)
    _type(meter, TOKEN[:19])
    assert meter.display_text() == ERROR_TEXT["invalid"]
    _type(meter, "9" * 20)
    assert meter.tokens_accepted == 0
    assert meter.kwh <= 50.0


def test_error_clears_after_its_display_time() -> None:
    """The error text gives way to the balance again."""
    meter = SimulatedMeter("m", start_kwh=50.0, error_display_s=0.05)
    _type(meter, "1")
    time.sleep(0.1)
    assert meter.display_text() == "50.00"


def test_digits_being_typed_are_shown() -> None:
    """While typing the LCD shows the last digits entered."""
    meter = SimulatedMeter("m", start_kwh=50.0)
    for key in "123":
        meter.press(key)
    assert meter.display_text() == "123"


def test_credit_is_deterministic() -> None:
    """The same token always gives the same credit, within 10-210 kWh."""
    assert token_credit(TOKEN) == token_credit(TOKEN)
    assert 10 <= token_credit(TOKEN) < 210


def test_state_persists_between_runs(tmp_path: Path) -> None:
    """A second meter on the same state file continues the balance and refuses used tokens."""
    state = tmp_path / "m.json"
    first = SimulatedMeter("m", start_kwh=80.0, state_path=state)
    _type(first, TOKEN)
    first.save()
    second = SimulatedMeter("m", start_kwh=5.0, state_path=state)
    assert second.kwh > 80.0
    _type(second, TOKEN)
    assert second.tokens_accepted == 0


def test_corrupt_state_file_starts_afresh(tmp_path: Path) -> None:
    """A state file that is not JSON is ignored."""
    state = tmp_path / "m.json"
    state.write_text("{nope", encoding="utf-8")
    assert SimulatedMeter("m", start_kwh=42.0, state_path=state).kwh == 42.0


def test_photo_is_a_jpeg_of_the_display() -> None:
    """photo_jpeg gives a decodable 640x480 JPEG and records what was shown."""
    meter = SimulatedMeter("m", start_kwh=12.5)
    seen: list[str] = []
    meter.on_photo = lambda shown, jpeg: seen.append(shown)
    jpeg = meter.photo_jpeg()
    assert jpeg[:2] == b"\xff\xd8"
    image = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)
    assert seen == ["12.50"] and meter.last_shown == "12.50"


def test_unknown_key_is_refused() -> None:
    """Only digits, BACK and ENTER exist."""
    meter = SimulatedMeter("m")
    try:
        meter.press("X")
    except ValueError:
        return
    raise AssertionError("X was accepted")
