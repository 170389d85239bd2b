"""Tests of the stroke maps the locator works on."""

from __future__ import annotations

import numpy as np

from ocr.ink import remove_long_lines, stroke_maps


def test_dark_and_light_strokes_land_in_their_own_map() -> None:
    """A dark bar on grey shows in the dark map only, a light bar in the light map only."""
    grey = np.full((60, 120), 128, np.uint8)
    grey[20:40, 20:24] = 30  # dark stroke
    grey[20:40, 80:84] = 230  # light stroke
    dark, light = stroke_maps(grey, 13)
    assert dark[30, 22] > 60 and light[30, 22] < 10
    assert light[30, 82] > 60 and dark[30, 82] < 10


def test_long_lines_go_short_strokes_stay() -> None:
    """A frame edge longer than 1.5 digit heights is removed; a segment is kept."""
    ink = np.zeros((100, 300), np.float32)
    ink[10:13, 5:295] = 200  # a frame edge
    ink[40:70, 100:104] = 200  # a segment, 30 px tall
    cleaned = remove_long_lines(ink, 40)
    assert cleaned[11, 150] == 0
    assert cleaned[55, 102] == 200
