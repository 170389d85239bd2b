"""Tests for tokenmeter.services.camera_setup: analysing a setup photo, sentences."""

from __future__ import annotations

import pytest

from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.profile_reader import BOX_OUTSIDE, EnrolRefused
from tokenmeter.services.camera_setup import (
    MIN_BOX_SIDE,
    MOVE_STEP,
    analyse,
    default_box,
    moved_box,
    problem_sentence,
    refusal_sentence,
)
from tokenmeter.sim import render_negative


def test_analyse_finds_reads_and_draws() -> None:
    """A good photo: the display found and read, no problem, a PNG overlay."""
    photo = fixed_camera_photos(4, 1)[0]
    shot = analyse("rumah", photo.image)
    assert shot.text == "150.0" and shot.quad is not None and shot.problems == ()
    assert shot.overlay_png[:4] == b"\x89PNG" and shot.flash


def test_analyse_without_display_and_with_a_bad_box() -> None:
    """No display: nothing read, the problem named; a box outside the photo refused."""
    shot = analyse("rumah", render_negative("wall", seed=3))
    assert shot.text == "" and "no_display" in shot.problems
    with pytest.raises(EnrolRefused) as caught:
        analyse("rumah", render_negative("wall", seed=3), ((0, 0), (900, 0), (900, 9), (0, 9)))
    assert caught.value.code == BOX_OUTSIDE


def test_moved_box_steps_and_stays_inside_the_photo() -> None:
    """A move shifts the whole box by MOVE_STEP of the photo, at most to its edge; a
    grow is clipped to the photo; a shrink stops at MIN_BOX_SIDE."""
    box = default_box(640, 480)
    assert box == ((160.0, 192.0), (480.0, 192.0), (480.0, 288.0), (160.0, 288.0))
    right = moved_box(box, "right", 640, 480)
    assert right[0] == (160.0 + MOVE_STEP * 640, 192.0)
    assert moved_box(box, "up", 640, 480)[0] == (160.0, 192.0 - MOVE_STEP * 480)
    edge = box
    for _ in range(40):
        edge = moved_box(edge, "left", 640, 480)
    assert edge[0] == (0.0, 192.0) and edge[1] == (320.0, 192.0)  # the box kept its size
    grown = box
    for _ in range(20):
        grown = moved_box(grown, "grow", 640, 480)
    assert grown == ((0.0, 0.0), (639.0, 0.0), (639.0, 479.0), (0.0, 479.0))
    small = box
    for _ in range(40):
        small = moved_box(small, "shrink", 640, 480)
    assert small[3][1] - small[0][1] >= MIN_BOX_SIDE
    assert moved_box(small, "shrink", 640, 480) == small


def test_sentences_in_both_languages() -> None:
    """Each problem and refusal reads as a sentence in Indonesian and English."""
    assert problem_sentence("too_dark", "id").startswith("Foto terlalu gelap")
    assert "flash" in problem_sentence("too_dark", "en")
    refused = EnrolRefused("value_mismatch", "150.00")
    assert refusal_sentence(refused, "151.00", "id").endswith("bukan 151.00.")
