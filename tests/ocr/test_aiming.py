"""Photo problems and the overlay of camera setup, on rendered photos."""

from __future__ import annotations

import cv2
import numpy as np

import ocr
from ocr.aiming import draw_overlay, photo_problems
from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.sim import render_negative


def test_good_dark_blurred_photos() -> None:
    """A good photo has no problem; darkened it is too dark, blurred out of focus."""
    photo = fixed_camera_photos(4, 1)[0].image
    quad = ocr.read_display(photo).quad
    assert quad is not None and photo_problems(photo, quad) == []
    dark = np.asarray(photo * 0.15, np.uint8)
    assert "too_dark" in photo_problems(dark, quad)
    blurred = np.asarray(cv2.GaussianBlur(photo, (0, 0), 3), np.uint8)
    assert photo_problems(blurred, quad) == ["out_of_focus"]


def test_cut_off_and_no_display() -> None:
    """A display touching the photo's edge is cut off; no quad means no display."""
    photo = fixed_camera_photos(4, 1)[0].image
    edge = ((2.0, 100.0), (300.0, 100.0), (300.0, 160.0), (2.0, 160.0))
    assert photo_problems(photo, edge) == ["cut_off"]
    assert photo_problems(render_negative("wall", seed=3), None) == ["no_display"]


def test_overlay_draws_the_box_on_a_copy() -> None:
    """The overlay has the photo's size, differs along the box, leaves the photo as is."""
    photo = fixed_camera_photos(4, 1)[0].image
    before = photo.copy()
    quad = ((100.0, 100.0), (300.0, 100.0), (300.0, 160.0), (100.0, 160.0))
    overlay = draw_overlay(photo, quad, "150.0")
    assert overlay.shape == photo.shape and np.array_equal(photo, before)
    assert not np.array_equal(overlay[100, 150], photo[100, 150])
