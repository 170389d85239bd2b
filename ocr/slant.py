"""Italic slant: find and undo the shear that makes vertical strokes vertical."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.ink import FloatImage

SHEARS = tuple(float(s) for s in np.arange(-0.12, 0.42, 0.03))
"""Candidate shears (horizontal shift per row, as tan of the slant angle)."""


def shear(image: FloatImage, amount: float) -> FloatImage:
    """Shift each row horizontally by ``amount`` × (row − centre row); top moves left."""
    h, w = image.shape[:2]
    centre = (h - 1) / 2.0
    matrix = np.array([[1.0, amount, -amount * centre], [0.0, 1.0, 0.0]], dtype=np.float64)
    return np.asarray(
        cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0),
        dtype=np.float32,
    )


def _column_peakiness(image: FloatImage) -> float:
    """Sum of squared column sums: larger when strokes line up into columns."""
    columns = image.sum(axis=0, dtype=np.float64)
    return float(np.dot(columns, columns))


def estimate_shear(ink: FloatImage) -> float:
    """The shear that best aligns the strokes vertically (0 for upright digits)."""
    scores = [_column_peakiness(shear(ink, s)) for s in SHEARS]
    best = int(np.argmax(scores))
    if 0 < best < len(SHEARS) - 1:  # parabolic refinement between neighbours
        left, mid, right = scores[best - 1], scores[best], scores[best + 1]
        denom = left - 2 * mid + right
        offset = 0.5 * (left - right) / denom if denom < 0 else 0.0
        step = SHEARS[1] - SHEARS[0]
        return SHEARS[best] + float(np.clip(offset, -0.5, 0.5)) * step
    return SHEARS[best]
