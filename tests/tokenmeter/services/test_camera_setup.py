"""Tests for tokenmeter.services.camera_setup: analysing a setup photo, sentences."""

from __future__ import annotations

import pytest

from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.profile_reader import BOX_OUTSIDE, EnrolRefused
from tokenmeter.services.camera_setup import analyse, problem_sentence, refusal_sentence
from tokenmeter.sim import render_negative


def test_analyse_finds_reads_and_draws() -> None:
    """A good photo: the display found and read, no problem, a PNG overlay."""
    photo = fixed_camera_photos(4, 1)[0]
    shot = analyse("rumah", photo.image)
    assert shot.text == "150.0" and shot.quad is not None and shot.problems == ()
    assert shot.overlay_png[:4] == b"\x89PNG" and shot.seconds < 2


def test_analyse_without_display_and_with_a_bad_box() -> None:
    """No display: nothing read, the problem named; a box outside the photo refused."""
    shot = analyse("rumah", render_negative("wall", seed=3))
    assert shot.text == "" and "no_display" in shot.problems
    with pytest.raises(EnrolRefused) as caught:
        analyse("rumah", render_negative("wall", seed=3), ((0, 0), (900, 0), (900, 9), (0, 9)))
    assert caught.value.code == BOX_OUTSIDE


def test_sentences_in_both_languages() -> None:
    """Each problem and refusal reads as a sentence in Indonesian and English."""
    assert problem_sentence("too_dark", "id").startswith("Foto terlalu gelap")
    assert "flash" in problem_sentence("too_dark", "en")
    refused = EnrolRefused("value_mismatch", "150.00")
    assert refusal_sentence(refused, "151.00", "id").endswith("bukan 151.00.")
