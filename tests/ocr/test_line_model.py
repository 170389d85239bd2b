"""Tests of the learned line recogniser's wrapper: input preparation and CTC decoding."""

from __future__ import annotations

import numpy as np
import pytest

from ocr.line_model import (
    ALPHABET,
    DOUBT_MARGIN,
    INPUT_HEIGHT,
    INPUT_WIDTH,
    LineGuess,
    decode,
    digit_pitch,
    model_available,
    prepare,
    read_line,
)
from tests.ocr.drawing import draw_digits


def _probs(classes: list[int], sure: float = 0.98) -> np.ndarray:
    probs = np.full((len(classes), 1 + len(ALPHABET)), (1 - sure) / len(ALPHABET), np.float32)
    for t, cls in enumerate(classes):
        probs[t, cls] = sure
    return probs


def test_prepare_shape_and_normalisation() -> None:
    """Any crop becomes a 1x1x32x256 float input centred on its median grey."""
    crop = np.full((31, 200, 3), 200, np.uint8)
    crop[5:25, 20:30] = 30
    x = prepare(crop)
    assert x.shape == (1, 1, INPUT_HEIGHT, INPUT_WIDTH) and x.dtype == np.float32
    assert abs(float(np.median(x))) < 1e-6 and float(x.min()) < -0.9


def test_decode_collapses_repeats_and_blanks() -> None:
    """Greedy CTC: repeats merge, a blank separates two equal characters."""
    one, two, point = 2, 3, ALPHABET.index(".") + 1
    guess = decode(_probs([0, one, one, 0, one, point, 0, two, two, 0]))
    assert guess.text == "11.2"
    assert len(guess.char_confidences) == 4 and min(guess.char_confidences) > 0.97
    assert all(a < b for a, b in guess.char_columns)


def test_decode_reports_low_confidence() -> None:
    """An unsure frame gives a low character confidence."""
    guess = decode(_probs([0, 5, 0], sure=0.5))
    assert guess.text == "4" and guess.char_confidences[0] < 0.6


def test_decode_reports_a_doubted_point() -> None:
    """A frame half-sure of a decimal point that is not emitted is reported."""
    one, point = 2, ALPHABET.index(".") + 1
    probs = _probs([0, one, 0, one, 0, 0, one, 0])
    assert decode(probs).point_doubt < 0.05
    probs[2] = 0.0
    probs[2, 0], probs[2, point] = 0.6, 0.4  # a point nearly seen between the 1s
    guess = decode(probs)
    assert guess.text == "111" and guess.point_doubt == pytest.approx(0.4)
    emitted = decode(_probs([0, one, point, 0, one]))
    assert emitted.text == "1.1" and emitted.point_doubt < 0.05  # its own frames don't count


def test_a_point_doubted_before_the_first_character_does_not_count() -> None:
    """Blank display before the first digit (leading blanks) can look faintly like a
    point; only from a few frames before the first character on does a doubt count,
    up to the end (a point before an unread last digit must still be caught)."""
    one, point = 2, ALPHABET.index(".") + 1
    classes = [0] * 12 + [one, 0, one] + [0] * 8
    for frame, counts in ((2, False), (12 - DOUBT_MARGIN, True), (20, True)):
        probs = _probs(classes)
        probs[frame] = 0.0
        probs[frame, 0], probs[frame, point] = 0.7, 0.3
        guess = decode(probs)
        assert guess.text == "11"
        assert (guess.point_doubt == pytest.approx(0.3)) is counts, frame


def test_digit_pitch_is_the_mean_distance_between_digit_centres() -> None:
    """Centres 1/8 of the input apart are one input height apart (32 x 256); a
    decimal point is not a digit and does not count; one digit has no pitch."""
    columns = ((0.0, 0.125), (0.125, 0.25), (0.24, 0.26), (0.25, 0.375))
    guess = LineGuess("12.3", (0.99,) * 4, columns, point_doubt=0.0)
    assert digit_pitch(guess) == pytest.approx(1.0)
    assert digit_pitch(LineGuess("7", (0.99,), ((0.2, 0.3),), point_doubt=0.0)) is None


def test_model_reads_a_drawn_line() -> None:
    """The shipped model reads a clean drawn seven-segment line."""
    assert model_available()
    assert read_line(draw_digits("4590")).text == "4590"


def test_model_is_safe_to_use_from_many_threads() -> None:
    """Reads from several threads at once (as the service does) match reads in one thread."""
    from concurrent.futures import ThreadPoolExecutor

    crops = [draw_digits(text) for text in ("4590", "12345", "007", "86.1") * 6]
    serial = [read_line(crop).text for crop in crops]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = [guess.text for guess in pool.map(read_line, crops)]
    assert parallel == serial
