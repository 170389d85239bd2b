"""Tests of finding the digit line in a whole photo."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.locate import locate_digits, looks_like_crop, order_corners, rectify, refine
from ocr.reading import Quad
from tests.ocr.drawing import draw_digits
from tokenmeter.sim.render_lcd import LcdDrawing, display_slots, draw_lcd
from tokenmeter.sim.render_style import LcdStyle


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


def test_corners_of_a_long_tilted_line_are_ordered() -> None:
    """A thin line tilted 9 degrees has its top-right corner below its bottom-left one:
    the order still follows the line, whatever order the points come in."""
    rect = ((300.0, 220.0), (250.0, 34.0), 9.0)
    points = cv2.boxPoints(rect)
    for shift in range(4):
        tl, tr, br, bl = order_corners(np.roll(points, shift, axis=0))
        assert tr[1] > bl[1]  # the case a sort by height gets wrong
        assert tl[0] < tr[0] and bl[0] < br[0]
        assert tl[1] < bl[1] and tr[1] < br[1]
        assert np.hypot(tr[0] - tl[0], tr[1] - tl[1]) > 240


def test_refine_keeps_the_digits_and_drops_marks_above_them() -> None:
    """In an LCD window with indicator marks above the digits, the refined quad is the
    digit band: as tall as the digits, not stretched up to the marks."""
    crop = draw_digits("90381")  # digits from row 10 to 70
    window = np.full((130, crop.shape[1] + 40, 3), (170, 200, 160), np.uint8)
    window[50 : 50 + crop.shape[0], 20 : 20 + crop.shape[1]] = crop
    for x in range(40, window.shape[1] - 40, 60):  # indicator marks, a gap above the digits
        cv2.rectangle(window, (x, 22), (x + 14, 34), (40, 40, 40), -1)
    h, w = window.shape[:2]
    whole = ((0.0, 0.0), (w - 1.0, 0.0), (w - 1.0, h - 1.0), (0.0, h - 1.0))
    tl, tr, br, bl = refine(window, whole)
    assert 40 <= tl[1] <= 60 and 40 <= tr[1] <= 60  # below the marks (rows 22-34)
    assert 118 <= bl[1] <= 130 and 118 <= br[1] <= 130
    assert tl[0] < 40 and tr[0] > 20 + crop.shape[1] - 30


def _refined_lcd(text: str, style: LcdStyle) -> tuple[LcdDrawing, Quad]:
    """A face-on LCD showing ``text`` and ``refine`` of the whole of it."""
    lcd = draw_lcd(display_slots(text, style), style, 40.0)
    window = np.clip(lcd.image, 0, 255).astype(np.uint8)
    h, w = window.shape[:2]
    return lcd, refine(window, ((0.0, 0.0), (w - 1.0, 0.0), (w - 1.0, h - 1.0), (0.0, h - 1.0)))


def test_refine_keeps_both_halves_of_digits_without_a_middle_bar() -> None:
    """Digits with no middle bar lit ("1", "0", "7") and wide gaps between segments have
    empty rows between their upper and lower halves; the refined band holds both."""
    style = LcdStyle(segment_gap=0.5, stroke=0.14, lcd_label="", ghost=0.0)
    lcd, (tl, _tr, _br, bl) = _refined_lcd("10170", style)
    _x0, top, _x1, bottom = lcd.digit_area
    assert tl[1] <= top + 2 and bl[1] >= bottom - 2


def test_refine_cuts_a_short_line_out_of_a_wide_window() -> None:
    """A low balance ("4.3") fills a sixth of its window; the refined quad holds its
    two digits and little of the empty positions to their left."""
    style = LcdStyle(positions=6, leading_zeros=False, lcd_label="", ghost=0.0, decimals=1)
    lcd, (tl, tr, _br, _bl) = _refined_lcd("4.3", style)
    _x0, _top, x1, _bottom = lcd.digit_area
    ink_left = lcd.digit_boxes[-2][0]  # the "4"
    assert tr[0] - tl[0] < 0.6 * lcd.image.shape[1]
    assert tl[0] <= ink_left and tr[0] >= x1 - 2
