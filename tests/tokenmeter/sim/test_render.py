"""The seeded meter-photo renderer (tokenmeter.sim.render and its parts)."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tokenmeter.sim import (
    LcdStyle,
    PhotoConditions,
    format_value,
    normal_text,
    random_style,
    render_crop,
    render_negative,
    render_photo,
)
from tokenmeter.sim.render_lcd import display_slots, draw_lcd, segments_for

CLEAN = PhotoConditions(lcd_width=0.6, rotation_deg=4.0, perspective=0.03)


def _inside(points: np.ndarray, quad: tuple[tuple[float, float], ...]) -> bool:
    contour = np.array(quad, np.float32).reshape(-1, 1, 2)
    return all(cv2.pointPolygonTest(contour, (float(x), float(y)), True) >= -1.5 for x, y in points)


def test_same_seed_gives_same_pixels() -> None:
    """Rendering is deterministic for a seed and differs between seeds."""
    first = render_photo("123.45", seed=7)
    again = render_photo("123.45", seed=7)
    other = render_photo("123.45", seed=8)
    assert np.array_equal(first.image, again.image)
    assert first.quad == again.quad
    assert not np.array_equal(first.image, other.image)


@pytest.mark.parametrize("size", [(640, 480), (1024, 768), (1600, 1200)])
def test_photo_has_requested_size_and_quad_inside(size: tuple[int, int]) -> None:
    """The photo is BGR uint8 of the asked size and the digit quad lies within it."""
    for seed in range(5):
        photo = render_photo("5021.7", seed=seed, size=size)
        assert photo.image.shape == (size[1], size[0], 3)
        assert photo.image.dtype == np.uint8
        for x, y in photo.quad:
            assert 0 <= x <= size[0] and 0 <= y <= size[1]


def test_quad_encloses_the_lit_segments() -> None:
    """Every pixel that changes with the shown digits lies inside the digit quad."""
    style = replace(random_style(np.random.default_rng(3)), ghost=0.0, lcd_label="")
    eights = render_photo("888.88", style, seed=11, conditions=CLEAN)
    ones = render_photo("111.11", style, seed=11, conditions=CLEAN)
    diff = cv2.absdiff(eights.image, ones.image).max(axis=2)
    ys, xs = np.nonzero(diff > 40)
    assert len(xs) > 100
    assert _inside(np.stack([xs, ys], 1), eights.quad)


def test_digit_quads_lie_inside_the_display_quad() -> None:
    """Each digit position's quad sits inside the digit area quad, one per position."""
    style = replace(random_style(np.random.default_rng(5)), positions=7)
    photo = render_photo("42.9", style, seed=2, conditions=CLEAN)
    assert len(photo.digit_quads) == 7
    for digit in photo.digit_quads:
        assert _inside(np.array(digit), photo.quad)


def test_text_and_shown_follow_leading_zero_style() -> None:
    """The reading text drops leading zeros; the display pads with zeros or blanks."""
    zeros = LcdStyle(positions=7, leading_zeros=True)
    blanks = LcdStyle(positions=7, leading_zeros=False)
    assert render_photo("42.90", zeros, seed=1).shown == "00042.90"
    assert render_photo("42.90", blanks, seed=1).shown == "   42.90"
    photo = render_photo("0042.90", blanks, seed=1)
    assert photo.text == "42.90"
    assert photo.value == 42.9


def test_normal_text_and_format_value() -> None:
    """Leading zeros go, a lone zero before the point stays, decimals follow the style."""
    assert normal_text("0042.50") == "42.50"
    assert normal_text("000.7") == "0.7"
    assert normal_text("009926") == "9926"
    assert format_value(12.3456, LcdStyle(decimals=2)) == "12.35"
    assert format_value(12.3456, LcdStyle(decimals=0)) == "12"


def test_small_tenths_only_for_one_decimal() -> None:
    """A style with a small tenths digit shrinks it only when one decimal is shown."""
    style = LcdStyle(positions=6, small_tenths=True)
    assert display_slots("2181.2", style)[-1].small
    assert not display_slots("21.81", style)[-1].small


def test_tenths_gap_moves_only_the_small_digit() -> None:
    """``tenths_gap`` widens the space before the small tenths digit and nowhere else."""
    style = LcdStyle(positions=6, small_tenths=True, lcd_label="")
    slots = display_slots("2181.2", style)
    plain = draw_lcd(slots, style, 40).digit_boxes
    gapped = draw_lcd(slots, replace(style, tenths_gap=0.5), 40).digit_boxes
    assert gapped[:-1] == plain[:-1]
    assert gapped[-1][0] - plain[-1][0] == pytest.approx(20)


def test_shape_variants_of_six_seven_nine() -> None:
    """6 and 9 lose their tail and 7 gains its hook as the style says."""
    plain = LcdStyle(six_tail=False, nine_tail=False, seven_hook=False)
    full = LcdStyle(six_tail=True, nine_tail=True, seven_hook=True)
    assert sorted(segments_for("6", plain)) == list("cdefg")
    assert sorted(segments_for("6", full)) == list("acdefg")
    assert sorted(segments_for("9", plain)) == list("abcfg")
    assert sorted(segments_for("7", full)) == list("abcf")
    assert sorted(segments_for("7", plain)) == list("abc")


def test_unshowable_text_is_refused() -> None:
    """Letters or two points cannot be drawn on a seven-segment display."""
    with pytest.raises(ValueError):
        render_photo("12a.5", seed=1)
    with pytest.raises(ValueError):
        render_photo("1.2.3", seed=1)


def test_random_styles_vary_widely() -> None:
    """Drawn styles cover every position count, polarity, segment shape and slant."""
    styles = [random_style(np.random.default_rng(seed)) for seed in range(300)]
    assert {s.positions for s in styles} == {5, 6, 7, 8}
    assert {s.polarity for s in styles} == {"dark_on_light", "light_on_dark"}
    assert {s.shape for s in styles} == {"hex", "rect", "trapezoid"}
    assert max(s.slant_deg for s in styles) > 10
    assert any(s.ghost > 0 for s in styles) and any(s.ghost == 0 for s in styles)
    assert {"green", "grey", "orange", "blue", "white"} <= {s.backlight for s in styles}


def test_crop_is_mostly_digits() -> None:
    """A crop is small and its digit quad covers most of it."""
    for seed in range(6):
        crop = render_crop("2383.3", seed=seed)
        height, width = crop.image.shape[:2]
        assert 15 <= height <= 200 and width > 2 * height
        area = cv2.contourArea(np.array(crop.quad, np.float32))
        assert area > 0.4 * width * height


@pytest.mark.parametrize("kind", ["dark", "blank_lcd", "wall"])
def test_negatives_have_the_asked_size(kind: str) -> None:
    """Negatives are BGR frames of the asked size."""
    image = render_negative(kind, seed=4, size=(800, 600))  # type: ignore[arg-type]
    assert image.shape == (600, 800, 3) and image.dtype == np.uint8


def test_dark_negative_is_dark_and_blank_has_no_lit_digits() -> None:
    """The dark frame is nearly black; the blank LCD differs from a lit one."""
    assert render_negative("dark", seed=1).mean() < 10
    blank = render_negative("blank_lcd", seed=1)
    assert blank.mean() > 40


def test_jpeg_condition_changes_pixels() -> None:
    """Asking for JPEG artefacts gives a different image than none."""
    clean = render_photo("77.17", seed=3, conditions=CLEAN)
    jpeg = render_photo("77.17", seed=3, conditions=replace(CLEAN, jpeg_quality=40))
    assert not np.array_equal(clean.image, jpeg.image)
    assert clean.quad == jpeg.quad
