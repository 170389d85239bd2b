"""Tests of line decoding on synthetic seven-segment crops."""

from __future__ import annotations

import numpy as np

from ocr.decode_line import _two_means, decode_line
from tests.ocr.drawing import draw_digits


def test_two_means_splits_groups() -> None:
    """The threshold falls between two clearly separated groups."""
    threshold, low, high = _two_means(np.array([1.0, 2.0, 3.0, 50.0, 52.0, 55.0]))
    assert 3.0 < threshold < 50.0
    assert low < 5 < 45 < high


def test_ghost_segments_are_not_lit() -> None:
    """Faint unlit segments on an LCD do not turn digits into 8s."""
    line = decode_line(draw_digits("4590", ghosts=True))
    assert "".join(d.char for d in line.digits) == "4590"


def test_light_on_dark_polarity() -> None:
    """Bright segments on a dark backlight are read like dark on light."""
    image = draw_digits("8869", dark_on_light=False, background=(60, 40, 20))
    line = decode_line(image)
    assert "".join(d.char for d in line.digits) == "8869"


def test_blank_crop_has_no_contrast() -> None:
    """A uniform crop yields no digits and a reason."""
    line = decode_line(np.full((40, 200, 3), 180, np.uint8))
    assert line.digits == () and line.reason
