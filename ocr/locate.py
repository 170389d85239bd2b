"""Find the line of digits in a whole photo and return its quad.

The display is found by its content, not its frame: segments are the strongest
thin strokes in the photo, and a line of digits is where they join into a wide
horizontal band once the gaps between digits are closed. Keypad buttons stay
separate blobs; printed labels are smaller than the digits and lose on area.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ocr.ink import brightest, remove_long_lines, stroke_maps
from ocr.reading import Image, Quad

LOCATE_WIDTH = 480
"""Photos are searched at this width (px)."""

MIN_ASPECT = 1.6
"""A line of digits is at least this much wider than tall (two digits or more)."""
MIN_BAND_ASPECT = 1.2
"""Inside a display window the digit band may be as narrow as two digits: a low
balance ("4.3", "44") is a short line in a wide window, and the network reading
such a line with the whole window round it is rarely sure. A single glyph stays
out: a keypad key found as a window holds one ("8")."""

JOIN_WIDTHS = (11, 25)
"""Gaps between digits closed when joining strokes into lines (px at LOCATE_WIDTH): a
narrow join keeps a line apart from its neighbours, a wide one spans large digits
set far apart. The joined line's area ranks it above its parts."""

BAND_INK = 0.12
"""A row belongs to a band of strokes when it holds this share of the most inked row."""
BAND_GAP = 0.12
"""Bands of rows further apart than this share of the crop height are never joined."""
BAND_SHARE = 0.3
"""A band beside the digits joins them when it holds this share of their ink."""


CROP_MAX_HEIGHT = 160
"""Images up to this tall may be crops of the digit line (photos are 480 px and up)."""


def looks_like_crop(grey: Image) -> bool:
    """True when the image is already a tight crop of the digit line."""
    h, w = grey.shape[:2]
    return bool(w >= 2.2 * h and h <= CROP_MAX_HEIGHT)


def _candidate_boxes(
    strokes: np.ndarray, min_height: float
) -> list[tuple[float, cv2.typing.RotatedRect]]:
    """(score, rotated rect) for each band of joined strokes, at each of JOIN_WIDTHS."""
    level = float(np.percentile(strokes, 99))
    if level < 12:
        return []
    _, mask = cv2.threshold(strokes, 0.35 * level, 255, cv2.THRESH_BINARY)
    mask = mask.astype(np.uint8)
    boxes: list[tuple[float, cv2.typing.RotatedRect]] = []
    for join_width in JOIN_WIDTHS:
        join = cv2.getStructuringElement(cv2.MORPH_RECT, (join_width, 5))
        joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, join)
        joined = cv2.morphologyEx(joined, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            rect = cv2.minAreaRect(contour)
            (_, _), (rw, rh), angle = rect
            if rw < rh:  # make the long side horizontal
                rw, rh, angle = rh, rw, angle - 90.0
            angle = (angle + 90.0) % 180.0 - 90.0
            if abs(angle) > 20 or rh < min_height or rw < MIN_ASPECT * rh:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            inside = np.zeros((h, w), np.uint8)
            cv2.drawContours(inside, [contour], -1, 255, thickness=-1, offset=(-x, -y))
            stroked = cv2.bitwise_and(mask[y : y + h, x : x + w], inside)
            fill = float(cv2.countNonZero(stroked)) / max(1.0, rw * rh)
            if fill < 0.12:
                continue
            score = rh * rh * min(rw / rh, 8.0) * fill
            boxes.append((score, ((rect[0][0], rect[0][1]), (rw, rh), angle)))
    return boxes


def _same_line(a: cv2.typing.RotatedRect, b: cv2.typing.RotatedRect) -> bool:
    """Two boxes cover nearly the same place (their intersection is 70 % of the larger)."""
    kind, points = cv2.rotatedRectangleIntersection(a, b)
    if kind == cv2.INTERSECT_NONE or points is None:
        return False
    larger = max(a[1][0] * a[1][1], b[1][0] * b[1][1])
    return float(cv2.contourArea(points)) >= 0.7 * larger


def locate_candidates(image: Image, limit: int = 3) -> list[Quad]:
    """Up to ``limit`` quads (TL, TR, BR, BL, image px) around lines of strokes, best first."""
    grey = brightest(image)
    h, w = grey.shape[:2]
    scale = LOCATE_WIDTH / w
    small: Image = np.asarray(
        cv2.resize(grey, (LOCATE_WIDTH, max(1, round(h * scale))), interpolation=cv2.INTER_AREA),
        dtype=np.uint8,
    )
    dark, light = stroke_maps(small, 13)
    boxes: list[tuple[float, cv2.typing.RotatedRect]] = []
    for strokes in (dark, light):
        boxes.extend(_candidate_boxes(np.clip(strokes, 0, 255).astype(np.uint8), 8.0))
    boxes.sort(key=lambda b: -b[0])
    chosen: list[cv2.typing.RotatedRect] = []
    for _, rect in boxes:
        if not any(_same_line(rect, other) for other in chosen):  # one line, two joins
            chosen.append(rect)
    quads: list[Quad] = []
    for (cx, cy), (rw, rh), angle in chosen[:limit]:
        grown = ((cx, cy), (rw + 3.0 * rh, rh * 1.6), angle)
        quads.append(order_corners(cv2.boxPoints(grown) / scale))
    return quads


def locate_digits(image: Image) -> Quad | None:
    """Quad (TL, TR, BR, BL, in image px) around the main line of digits, or None."""
    quads = locate_candidates(image, 1)
    return quads[0] if quads else None


def order_corners(points: np.ndarray) -> Quad:
    """Order the four corners of a convex quad as top-left, top-right, bottom-right,
    bottom-left, for any tilt under 45 degrees and any width (a long thin line tilted
    by a few degrees has its top-right corner lower than its bottom-left one)."""
    pts = np.asarray(points, np.float64).reshape(4, 2)
    centre = pts.mean(axis=0)
    # clockwise on screen (y grows downwards); the top edge is the one running right
    cyclic = pts[np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))]
    steps = np.roll(cyclic, -1, axis=0) - cyclic
    first = int(np.argmax(steps[:, 0] - np.abs(steps[:, 1])))
    tl, tr, br, bl = np.roll(cyclic, -first, axis=0)
    return (
        (float(tl[0]), float(tl[1])),
        (float(tr[0]), float(tr[1])),
        (float(br[0]), float(br[1])),
        (float(bl[0]), float(bl[1])),
    )


def rectify(image: Image, quad: Quad, height: int = 64) -> Image:
    """Warp the quad to an upright rectangle ``height`` px tall."""
    corners = np.array(quad, dtype=np.float32)
    top = float(np.linalg.norm(corners[1] - corners[0]))
    bottom = float(np.linalg.norm(corners[2] - corners[3]))
    left = float(np.linalg.norm(corners[3] - corners[0]))
    right = float(np.linalg.norm(corners[2] - corners[1]))
    quad_height = max(1.0, (left + right) / 2)
    width = max(8, round(height * (top + bottom) / 2 / quad_height))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners, target)
    return np.asarray(
        cv2.warpPerspective(
            image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ),
        dtype=np.uint8,
    )


def _digit_band(mask: np.ndarray) -> tuple[int, int] | None:
    """Top and bottom row of the digits: the run of inked rows holding the most ink,
    joined with the runs beside it that hold a good share of ink too.

    Indicator marks above the digits are a run of their own, a few empty rows away
    and with little ink. The upper and lower halves of the digits can be runs of
    their own too (the gap between a digit's upper and lower segments, with no
    middle bar lit), but each half holds much ink.
    """
    rows = mask.mean(axis=1)
    peak = float(rows.max())
    if peak <= 0:
        return None
    runs: list[list[int]] = []
    for row in np.flatnonzero(rows > BAND_INK * peak).tolist():
        if runs and row == runs[-1][1]:
            runs[-1][1] = row + 1
        else:
            runs.append([row, row + 1])
    ink = [float(rows[a:b].sum()) for a, b in runs]
    first = last = int(np.argmax(ink))
    reach = BAND_GAP * mask.shape[0]
    while True:
        total = sum(ink[first : last + 1])
        gaps = {first - 1: runs[first][0] - runs[first - 1][1] if first > 0 else math.inf}
        gaps[last + 1] = runs[last + 1][0] - runs[last][1] if last + 1 < len(runs) else math.inf
        near = [k for k, gap in gaps.items() if gap <= reach and ink[k] >= BAND_SHARE * total]
        if not near:
            return runs[first][0], runs[last][1]
        best = max(near, key=lambda k: ink[k])
        first, last = min(first, best), max(last, best)


def refine(image: Image, quad: Quad, height: int = 96) -> Quad:
    """Shrink a rough quad (which may hold the whole LCD window) to the digit line.

    Inside the rectified quad the frame edges are removed as long lines; the band
    of rows holding most of the remaining strokes, and the span of columns inked
    within it, are the digits. A band too short, or narrower than two digits, leaves
    the quad as it was.
    """
    crop = rectify(image, quad, height)
    grey = brightest(crop)
    dark, light = stroke_maps(grey, max(5, height // 6))
    strokes = dark if float(np.percentile(dark, 97)) >= float(np.percentile(light, 97)) else light
    strokes = remove_long_lines(strokes, int(0.65 * height))  # the frame: 0.85 of the height
    level = float(np.percentile(strokes, 99))
    if level <= 0:
        return quad
    mask = strokes > 0.35 * level
    band = _digit_band(mask)
    if band is None:
        return quad
    top, bottom = band
    columns = mask[top:bottom].mean(axis=0)
    inked_cols = np.flatnonzero(columns > 0.05)
    if inked_cols.size == 0 or bottom - top < 0.2 * height:
        return quad
    left, right = int(inked_cols[0]), int(inked_cols[-1]) + 1
    if right - left < MIN_BAND_ASPECT * (bottom - top):
        return quad
    # half a digit height each side: a leading "1" has its ink at the right of its cell
    pad_y, pad_x = 0.12 * (bottom - top), 0.5 * (bottom - top)
    width = crop.shape[1]
    box = np.array(
        [
            [max(0.0, left - pad_x), max(0.0, top - pad_y)],
            [min(width - 1.0, right + pad_x), max(0.0, top - pad_y)],
            [min(width - 1.0, right + pad_x), min(height - 1.0, bottom + pad_y)],
            [max(0.0, left - pad_x), min(height - 1.0, bottom + pad_y)],
        ],
        dtype=np.float32,
    )
    corners = np.array(quad, dtype=np.float32)
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    back = cv2.getPerspectiveTransform(target, corners)
    mapped = cv2.perspectiveTransform(box.reshape(1, 4, 2), back).reshape(4, 2)
    return order_corners(mapped)
