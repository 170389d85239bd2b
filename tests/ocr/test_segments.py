"""Tests of the seven-segment pattern table and segment sampling."""

from __future__ import annotations

import numpy as np

from ocr.segments import PATTERNS, decode, pattern_of, sample_segments


def test_every_digit_has_a_pattern() -> None:
    """Each digit 0-9 appears in the table and round-trips through decode."""
    for char in "0123456789":
        assert decode(pattern_of(char)) == char


def test_shape_variants_decode() -> None:
    """6 and 9 without tails and 7 with the upper-left segment are read."""
    names = "abcdefg"

    def lit(on: str) -> tuple[bool, ...]:
        return tuple(n in on for n in names)

    assert decode(lit("cdefg")) == "6"
    assert decode(lit("abcfg")) == "9"
    assert decode(lit("abcf")) == "7"


def test_unknown_pattern_is_none() -> None:
    """A pattern that is no digit decodes to None."""
    assert decode((True, False, False, False, False, False, True)) is None
    assert len(set(PATTERNS.values())) == 11


def test_sample_segments_sees_lit_segment() -> None:
    """A bright top bar gives segment a the highest strength."""
    ink = np.zeros((60, 40), np.float32)
    ink[0:6, 8:32] = 200.0
    values = sample_segments(ink, 0, 40, 0, 60)
    assert values[0] > 100 and max(values[1:]) < 50
