"""Tests of italic slant estimation."""

from __future__ import annotations

import numpy as np

from ocr.slant import estimate_shear, shear


def _bars() -> np.ndarray:
    image = np.zeros((64, 200), np.float32)
    for x in range(20, 180, 30):
        image[8:56, x : x + 5] = 200.0
    return image


def test_upright_strokes_need_no_shear() -> None:
    """Vertical bars give a shear near zero."""
    assert abs(estimate_shear(_bars())) < 0.04


def test_slanted_strokes_are_recovered() -> None:
    """Bars leaning right are straightened by a positive shear."""
    slanted = shear(_bars(), -0.2)
    assert 0.14 < estimate_shear(slanted) < 0.26
