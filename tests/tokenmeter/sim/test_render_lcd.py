"""Tests of the face-on LCD drawing (tokenmeter/sim/render_lcd.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tokenmeter.sim.render_lcd import display_slots, draw_lcd
from tokenmeter.sim.render_style import LcdStyle, style_seed_text


def test_outlined_segments_keep_their_rim_and_lose_ink_inside() -> None:
    """Many meters draw each segment as an outline: the rim stays dark, the inside
    of a thick stroke is much lighter. The default draws solid segments."""
    style = LcdStyle(stroke=0.2, lcd_label="", ghost=0.0, positions=1)
    slots = display_slots("8", style)
    solid = draw_lcd(slots, style, 60.0)
    hollow = draw_lcd(slots, replace(style, hollow=0.8), 60.0)
    background = np.array(style.background, np.float32)

    def ink(image: np.ndarray) -> np.ndarray:
        return np.asarray(np.abs(image - background).sum(axis=2))

    solid_ink, hollow_ink = ink(solid.image), ink(hollow.image)
    x0, y0, x1, y1 = solid.digit_boxes[0]
    middle_row = round((y0 + y1) / 2)  # through the middle bar (segment g)
    column = round((x0 + x1) / 2)
    bar = slice(middle_row - 5, middle_row + 6)
    inside = float(hollow_ink[middle_row, column]) / float(solid_ink[middle_row, column])
    assert inside < 0.4  # the bar's centre is light
    assert hollow_ink[bar, column].max() > 0.9 * solid_ink[bar, column].max()  # its rim is not
    assert np.array_equal(solid.image, draw_lcd(slots, replace(style, hollow=0.0), 60.0).image)


def test_fields_added_later_leave_rendered_meters_where_they_were() -> None:
    """Scratches and fading are seeded from the style's text; a field added after
    the benchmark's set was fixed only enters that text when a meter uses it, so
    the benchmark keeps rendering the same photos."""
    style = LcdStyle(scratches=3)
    text = style_seed_text(style)
    assert text.startswith("LcdStyle(positions=6, ") and "scratches=3" in text
    assert "hollow" not in text and "point_ink" not in text
    assert "hollow=0.5" in style_seed_text(replace(style, hollow=0.5))
