"""Split a deskewed ink map of one display line into digit boxes.

Seven-segment digits sit on a regular grid. The digit band is the run of inked
rows with the most ink; the grid (pitch, digit width, phase) is the one whose
gaps between digits are emptiest compared with the digits themselves. A grid
does not care whether a digit is a narrow "1", a blank or touches its neighbour.
A small digit after the grid's last full-height digit (a tenths digit) and a
small blob at the foot of the line (a decimal point) are recognised separately.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ocr.ink import FloatImage

WIDTH_RATIOS = (0.6, 0.7, 0.8, 0.88)
"""Candidate digit width as a fraction of the pitch."""


@dataclass(frozen=True)
class Cell:
    """A digit box in the deskewed work image."""

    x0: int
    x1: int
    y0: int
    y1: int
    point_after: bool = False
    small: bool = False  # a reduced-size digit (e.g. tenths after the point)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Half-open index ranges where ``mask`` is True."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def find_band(ink: FloatImage) -> tuple[int, int] | None:
    """Rows [y0, y1) holding the digits: the run of inked rows with the most ink."""
    rows = ink.mean(axis=1)
    peak = float(np.percentile(rows, 98))
    if peak <= 0:
        return None
    runs = _runs(rows > 0.25 * peak)
    if not runs:
        return None
    return max(runs, key=lambda r: float(rows[r[0] : r[1]].sum()))


@dataclass(frozen=True)
class Grid:
    """Digit k occupies columns [offset + k·pitch, offset + k·pitch + width)."""

    pitch: int
    width: int
    offset: int
    score: float


def fit_grid(columns: npt.NDArray[np.float64], height: int) -> Grid | None:
    """The regular digit grid that best explains the column ink profile."""
    inked = np.flatnonzero(columns > 0.06)
    if inked.size == 0:
        return None
    left, right = int(inked[0]), int(inked[-1]) + 1
    span = columns[left:right]
    best: Grid | None = None
    for pitch in range(max(4, int(0.45 * height)), max(5, int(1.4 * height)) + 1):
        if pitch > span.size + 2:
            break
        positions = np.arange(span.size) % pitch
        folded = np.bincount(positions, weights=span, minlength=pitch)
        counts = np.bincount(positions, minlength=pitch).astype(np.float64)
        twice = np.concatenate((folded, folded))
        twice_counts = np.concatenate((counts, counts))
        sums = np.concatenate(([0.0], np.cumsum(twice)))
        count_sums = np.concatenate(([0.0], np.cumsum(twice_counts)))
        for ratio in WIDTH_RATIOS:
            width = round(ratio * pitch)
            if pitch - width < 2:
                continue
            starts = np.arange(pitch)
            inside = sums[starts + width] - sums[starts]
            inside_n = count_sums[starts + width] - count_sums[starts]
            total, total_n = float(sums[pitch]), float(count_sums[pitch])
            gap = total - inside
            gap_n = total_n - inside_n
            valid = (inside_n > 0) & (gap_n > 0)
            contrast = np.where(
                valid, inside / np.maximum(inside_n, 1) - 2 * gap / np.maximum(gap_n, 1), -np.inf
            )
            phase = int(np.argmax(contrast))
            score = float(contrast[phase])
            if best is None or score > best.score * 1.05:
                best = Grid(pitch, width, left + phase, score)
    return best


def find_cells(ink: FloatImage, band: tuple[int, int]) -> list[Cell]:
    """Digit boxes from left to right inside the band rows."""
    y0, y1 = band
    height = y1 - y0
    strip = ink[y0:y1]
    pixel_peak = float(np.percentile(strip, 99))
    if pixel_peak <= 0:
        return []
    inked = strip > 0.3 * pixel_peak
    columns = inked.mean(axis=0).astype(np.float64)
    grid = fit_grid(columns, height)
    if grid is None:
        return []
    cells: list[Cell] = []
    start = grid.offset - grid.pitch * ((grid.offset + grid.pitch) // grid.pitch)
    for x0 in range(start, strip.shape[1], grid.pitch):
        x1 = x0 + grid.width
        lo, hi = max(0, x0), min(strip.shape[1], x1)
        if hi - lo < 0.5 * grid.width:
            continue
        block = inked[:, lo:hi]
        if block.mean() < 0.03:
            continue
        rows = np.flatnonzero(block.mean(axis=1) > 0.1)
        if rows.size == 0:
            continue
        top, bottom = int(rows[0]), int(rows[-1]) + 1
        if bottom - top < 0.25 * height and top > 0.6 * height:
            if cells:  # a decimal point between digits
                last = cells[-1]
                cells[-1] = Cell(last.x0, last.x1, last.y0, last.y1, True, last.small)
            continue
        if bottom - top < 0.75 * height and top > 0.2 * height:
            cells.append(Cell(x0, x1, y0 + top, y0 + bottom, small=True))
            continue
        cells.append(Cell(x0, x1, y0, y1))
    return cells
