"""Tests of the tesseract fallback's merging rules."""

from __future__ import annotations

from ocr.fallback import fill_unknowns


def test_fills_only_unknown_digit() -> None:
    """A "?" is taken from the engine when every known digit agrees."""
    assert fill_unknowns("12?.5", "123.5") == "123.5"


def test_never_overrides_a_segment_digit() -> None:
    """A disagreement on a digit the segments were sure of discards the engine."""
    assert fill_unknowns("12?.5", "183.5") is None


def test_layout_must_match() -> None:
    """A different digit count is refused."""
    assert fill_unknowns("1?", "123") is None
