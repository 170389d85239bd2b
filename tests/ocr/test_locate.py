"""Tests of finding the digit line in a whole photo."""

from __future__ import annotations

import numpy as np

from ocr.locate import locate_digits, looks_like_crop, rectify
from tests.ocr.drawing import draw_digits


def test_crop_shape_is_recognised() -> None:
    """A wide short image is a crop; a 640×480 photo is not."""
    assert looks_like_crop(np.zeros((31, 200), np.uint8))
    assert not looks_like_crop(np.zeros((480, 640), np.uint8))


def test_finds_digits_in_a_photo() -> None:
    """The located quad covers the pasted digit line."""
    crop = draw_digits("4590")
    photo = np.full((480, 640, 3), 120, np.uint8)
    photo[200 : 200 + crop.shape[0], 150 : 150 + crop.shape[1]] = crop
    quad = locate_digits(photo)
    assert quad is not None
    xs = [p[0] for p in quad]
    ys = [p[1] for p in quad]
    assert min(xs) < 170 and max(xs) > 130 + crop.shape[1]
    assert min(ys) < 215 and max(ys) > 200 + crop.shape[0] - 15


def test_blank_photo_has_no_digits() -> None:
    """A uniform photo gives no quad."""
    assert locate_digits(np.full((480, 640, 3), 128, np.uint8)) is None


def test_rectify_size() -> None:
    """Rectify returns the requested height and the quad's aspect."""
    image = np.zeros((100, 200, 3), np.uint8)
    out = rectify(image, ((0.0, 0.0), (199.0, 0.0), (199.0, 49.0), (0.0, 49.0)), 50)
    assert out.shape[0] == 50 and 190 <= out.shape[1] <= 210
