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


def test_crops_are_often_tight_against_the_outermost_ink(data: ModuleType) -> None:
    """Real crops often start right at a leading "1"'s ink, far right of its cell; the
    uncut sides are measured from the ink, never more than 0.7 / 1.4 heights out."""
    boxes = [(10.0, 0.0, 30.0, 40.0), (40.0, 0.0, 60.0, 40.0), (70.0, 0.0, 90.0, 40.0)]
    ink = (24.0, 88.0)  # a "1" at the right of the first cell

    def whole(_k: int, _a: float, _b: float) -> float:
        return 1.0

    tight_left = tight_right = 0
    for seed in range(300):
        x0, x1, first, last = data._horizontal_cut(
            np.random.default_rng(seed), boxes, 40.0, 200.0, whole, ink, False
        )
        assert (first, last) == (0, 2)  # three digits: never cut through
        assert ink[0] - 0.7 * 40 - 1e-9 <= x0 <= ink[0] + 0.12 * 20
        assert ink[1] - 0.12 * 20 <= x1 <= ink[1] + 1.4 * 40 + 1e-9
        tight_left += x0 >= ink[0] - 0.05 * 40
        tight_right += x1 <= ink[1] + 0.05 * 40
    assert 60 < tight_left < 240 and 60 < tight_right < 240


def test_a_digit_after_a_point_is_never_cut_away(data: ModuleType) -> None:
    """Cutting 12.5 to "12." teaches the network nothing it may use; the cut through
    the last digit is skipped when a point comes before it."""
    boxes = [(float(x), 0.0, x + 20.0, 40.0) for x in range(10, 200, 30)]
    ink = (boxes[0][0], boxes[-1][2])

    def half(k: int, a: float, b: float) -> float:
        x0, _, x1, _ = boxes[k]
        return max(0.0, min(b, x1) - max(a, x0)) / (x1 - x0)

    dropped = {True: 0, False: 0}
    for seed in range(400):
        for point in (True, False):
            *_, last = data._horizontal_cut(
                np.random.default_rng(seed), boxes, 40.0, 300.0, half, ink, point
            )
            dropped[point] += last < len(boxes) - 1
    assert dropped[True] == 0 and dropped[False] > 5


def test_the_label_can_sit_over_a_small_tenths_digit(data: ModuleType) -> None:
    """Many meters print "kWh" above their small tenths digit; then it takes no
    width of its own to the right of the digits."""
    style = LcdStyle(small_tenths=True, small_ratio=0.4, decimals=1, lcd_label="kWh")
    slots = display_slots("123.4", style)
    beside = draw_lcd(slots, style, 40.0)
    over = draw_lcd(slots, replace(style, label_over_tenths=True), 40.0)
    assert over.image.shape[1] < beside.image.shape[1]
    x0, y0, x1, _ = over.digit_boxes[-1]
    ink = np.abs(over.image - np.array(style.background, np.float32)).sum(axis=2) > 60
    above = ink[: int(y0) - 1, int(x0) : int(x1) + 1]
    assert above.sum() > 20  # the label's strokes, above the small digit


def test_a_small_point_can_sit_faint_and_tight_after_its_digit(data: ModuleType) -> None:
    """Many meters show a dot of half a stroke, fainter than the segments, right
    against its digit; the training crops draw it so, the default stays centred."""
    style = LcdStyle(decimals=1, lcd_label="", spacing=0.4, stroke=0.13)
    slots = display_slots("12.3", style)
    k = next(i for i, slot in enumerate(slots) if slot.point_after)

    def point(drawing_style: LcdStyle) -> tuple[float, float]:
        lcd = draw_lcd(slots, drawing_style, 40.0)
        _, _, x1, y1 = lcd.digit_boxes[k]
        next_x0 = lcd.digit_boxes[k + 1][0]
        ink = np.abs(lcd.image - np.array(style.background, np.float32)).sum(axis=2)
        gap = ink[int(y1) - 8 : int(y1) + 1, int(x1) : int(next_x0)]
        columns = np.flatnonzero(gap.max(axis=0) > 30)
        return float(columns.mean()) / (next_x0 - x1), float(gap.max())

    centred, full = point(style)
    tight, faint = point(replace(style, point_size=0.5, point_ink=0.5, point_place=0.15))
    assert 0.4 < centred < 0.6 and tight < 0.3
    assert faint < 0.7 * full
    for seed in range(40):
        hard = data.hard_style(np.random.default_rng(seed))
        assert hard.point_ink >= hard.ghost + 0.35  # a lit point stays darker than a ghost


def test_the_window_frame_may_show_above_and_below_but_never_on_the_digits(
    data: ModuleType,
) -> None:
    """Real crops often carry a strip of the dark bezel along their top or bottom;
    the training crops draw one in the free room only (and beyond the cut, where the
    frame goes on)."""
    image = np.full((60, 200, 3), 180.0, np.float32)
    banded = 0
    for seed in range(30):
        out = data._window_edges(image, (5.0, 55.0), (15.0, 45.0), np.random.default_rng(seed))
        changed = np.abs(out - image).sum(axis=(1, 2)) > 0
        assert not changed[15:45].any()  # the digit rows are untouched
        banded += bool(changed[5:15].any() or changed[45:55].any())
    assert banded >= 15


def test_some_crops_are_resized_to_one_box_whatever_they_hold(data: ModuleType) -> None:
    """A quarter of the crops get a fixed 5:1-8:1 box (a short "884" stretched as wide
    as a long line); the rest keep their own shape, stretched 0.55-1.8 times."""
    boxed = 0
    for seed in range(400):
        width, height = data._output_size((30, 45, 3), np.random.default_rng(seed))
        aspect = width / height
        if aspect >= 5.0 - 0.1:  # the crop's own shape is 1.5:1, at most 2.7:1 stretched
            boxed += 1
            assert aspect <= 8.0 + 0.1
        else:
            assert 1.5 * 0.55 - 0.1 <= aspect <= 1.5 * 1.8 + 0.1
        assert 14 <= height < 64
    assert 60 < boxed < 140
