"""Read one line of seven-segment digits from a crop: cells → segments → characters.

Lit and unlit ("ghost") segments are told apart per display, not with a fixed
grey level: the strengths of all segments of all digits fall into two groups and
the split between them is the threshold. A segment near the split is uncertain,
and so is the digit it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ocr.cells import Cell, find_band, find_cells
from ocr.ink import (
    WORK_HEIGHT,
    FloatImage,
    ink_map,
    remove_long_lines,
    scale_to_height,
    to_grey,
)
from ocr.reading import Image
from ocr.segments import decode, sample_segments
from ocr.slant import estimate_shear, shear

MIN_CONTRAST = 6.0
"""Lit segments must stand this many grey levels above unlit ones (0-255 scale)."""


@dataclass(frozen=True)
class DecodedDigit:
    """One digit position of the line."""

    cell: Cell
    char: str  # "0"-"9", " " blank, "?" undecodable
    confidence: float
    strengths: tuple[float, ...]
    lit: tuple[bool, ...]


@dataclass(frozen=True)
class DecodedLine:
    """All digit positions of the line, left to right, and how they were split."""

    digits: tuple[DecodedDigit, ...]
    threshold: float
    contrast: float
    shear: float
    scale: float  # work-image px per input px
    reason: str = ""


def _two_means(values: npt.NDArray[np.float64]) -> tuple[float, float, float]:
    """Best split of 1-D values into two groups: (threshold, low mean, high mean)."""
    ordered = np.sort(values)
    n = ordered.size
    best_cost, best_k = np.inf, 1
    cumsum = np.cumsum(ordered)
    cumsq = np.cumsum(ordered**2)
    for k in range(1, n):
        low_n, high_n = k, n - k
        low_sum, high_sum = cumsum[k - 1], cumsum[-1] - cumsum[k - 1]
        low_sq, high_sq = cumsq[k - 1], cumsq[-1] - cumsq[k - 1]
        cost = (low_sq - low_sum**2 / low_n) + (high_sq - high_sum**2 / high_n)
        if cost < best_cost:
            best_cost, best_k = cost, k
    low = float(ordered[:best_k].mean())
    high = float(ordered[best_k:].mean())
    return (float(ordered[best_k - 1]) + float(ordered[best_k])) / 2, low, high


def _stroke_span(height: int) -> int:
    """Structuring element size for the ink map: about a third of the line height."""
    return max(5, int(height * 0.35))


def work_ink(crop: Image) -> tuple[FloatImage, float]:
    """Ink map of a crop at the work height, and the scale used."""
    grey = to_grey(crop)
    scaled = scale_to_height(grey)
    ink, _ = ink_map(scaled, _stroke_span(WORK_HEIGHT))
    return remove_long_lines(ink, WORK_HEIGHT), WORK_HEIGHT / grey.shape[0]


def _with_point(ink: FloatImage, cells: list[Cell], index: int, threshold: float) -> Cell:
    """The cell, marked when a decimal point sits at its lower right, in the gap.

    A point is ink in the bottom fifth of the line between this digit and the next
    one, as strong as a lit segment, with no ink above it in the gap's middle rows.
    """
    cell = cells[index]
    if cell.point_after or cell.small:
        return cell
    height = cell.y1 - cell.y0
    width = cell.x1 - cell.x0
    right = cells[index + 1].x0 if index + 1 < len(cells) else cell.x1 + width // 3
    x0, x1 = cell.x1 - max(1, width // 12), min(ink.shape[1], right + max(1, width // 12))
    if x1 - x0 < 2:
        return cell
    foot = ink[cell.y1 - max(2, height // 5) : cell.y1, x0:x1].mean(axis=0)
    if foot.size == 0:
        return cell
    column = x0 + int(np.argmax(foot))
    near = slice(max(0, column - 1), column + 2)
    middle = ink[cell.y0 + height // 3 : cell.y1 - height // 3, near]
    if middle.size == 0:
        return cell
    if float(foot.max()) > threshold and float(middle.mean(axis=0).max()) < threshold / 2:
        return replace(cell, point_after=True)
    return cell


def decode_line(crop: Image) -> DecodedLine:
    """Decode the digits of a crop that holds one line of seven-segment digits."""
    ink, scale = work_ink(crop)
    amount = estimate_shear(ink)
    upright = shear(ink, amount)
    band = find_band(upright)
    if band is None or band[1] - band[0] < WORK_HEIGHT * 0.3:
        return DecodedLine((), 0.0, 0.0, amount, scale, "no digit band")
    cells = find_cells(upright, band)
    if not cells:
        return DecodedLine((), 0.0, 0.0, amount, scale, "no digits")
    strengths = [sample_segments(upright, c.x0, c.x1, c.y0, c.y1) for c in cells]
    values = np.array([v for s in strengths for v in s], dtype=np.float64)
    threshold, low, high = _two_means(values)
    contrast = high - low
    if contrast < MIN_CONTRAST:
        return DecodedLine((), threshold, contrast, amount, scale, "no contrast")
    cells = [_with_point(upright, cells, i, threshold) for i in range(len(cells))]
    digits: list[DecodedDigit] = []
    for cell, segment_strengths in zip(cells, strengths, strict=True):
        lit = tuple(v > threshold for v in segment_strengths)
        margins = [abs(v - threshold) / (contrast / 2) for v in segment_strengths]
        confidence = float(np.clip(min(margins), 0.0, 1.0))
        char = decode(lit)
        if char is None:
            char, confidence = "?", 0.0
        digits.append(DecodedDigit(cell, char, confidence, segment_strengths, lit))
    return DecodedLine(tuple(digits), threshold, contrast, amount, scale)
