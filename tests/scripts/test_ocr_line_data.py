"""Tests of the training-data generator for the line network (scripts/ocr_line_data.py)."""

from __future__ import annotations

import re
from dataclasses import replace
from types import ModuleType

import numpy as np
import pytest

from tests.scripts_loader import load_script
from tokenmeter.sim.render_lcd import Slot, display_slots, draw_lcd
from tokenmeter.sim.render_style import LcdStyle


@pytest.fixture(scope="module")
def data() -> ModuleType:
    return load_script("ocr_line_data")


def test_samples_are_seeded_images_with_readable_labels(data: ModuleType) -> None:
    """Same seed, same sample; labels are numbers, dashes or empty (nothing to read)."""
    first = [data.line_sample(np.random.default_rng(s)) for s in range(40)]
    again = [data.line_sample(np.random.default_rng(s)) for s in range(40)]
    for (image, label), (image2, label2) in zip(first, again, strict=True):
        assert label == label2 and np.array_equal(image, image2)
        assert image.dtype == np.uint8 and image.ndim == 3 and 10 <= image.shape[0] <= 64
        assert re.fullmatch(r"(\d+(\.\d*)?|-+\d?|)", label), label
    assert len({label for _, label in first}) > 30


def test_a_digit_cut_at_the_edge_leaves_the_label(data: ModuleType) -> None:
    """Cutting through the last digit drops it; the point before it is still seen."""
    slots = [Slot("1"), Slot("2", point_after=True), Slot("5", small=True)]
    assert data._cut_label(slots, 0, 2) == "12.5"
    assert data._cut_label(slots, 0, 1) == "12."
    assert data._cut_label(slots, 1, 2) == "2.5"


def test_an_unlit_point_before_a_small_tenths_digit_stays_in_the_label(data: ModuleType) -> None:
    """Meters often hide the point before their small tenths digit; it is still tenths."""
    unlit = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        style = data.hard_style(rng)
        drawn, labelled = data._slots(rng, replace(style, small_tenths=True, decimals=1))
        if not labelled:  # a blank LCD
            assert all(s.char == " " for s in drawn)
            continue
        assert [s.char for s in drawn] == [s.char for s in labelled]
        if labelled and labelled[-1].small and not any(s.point_after for s in drawn):
            unlit += 1
            assert re.fullmatch(r"\d+\.\d", data._label(labelled)), data._label(labelled)
    assert unlit > 10


def test_a_one_whose_cell_is_half_cut_is_still_a_whole_one(data: ModuleType) -> None:
    """Visibility is the digit's ink, not its cell: a "1" lives at the right of its
    cell, so a cut through the cell's left half leaves it whole; an "8" loses its half."""
    style = LcdStyle(ghost=0.3)  # ghosts are not counted as ink
    slots = display_slots("1888", style)  # with leading zeros: 001888
    lcd = draw_lcd(slots, style, 40.0)
    width = float(lcd.image.shape[1])
    at = [s.char for s in slots].index("1")
    one, eight = lcd.digit_boxes[at], lcd.digit_boxes[at + 1]
    half = (one[0] + one[2]) / 2
    assert data._lit_share(lcd.image, style, one, half, width) > 0.95
    assert data._lit_share(lcd.image, style, one, 0.0, width) == 1.0
    middle = (eight[0] + eight[2]) / 2
    assert 0.3 < data._lit_share(lcd.image, style, eight, middle, width) < 0.7
