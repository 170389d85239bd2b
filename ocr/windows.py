"""Find LCD windows in a whole photo: wide rectangles framed by a bezel, holding strokes.

A meter's display sits in a window with a clear edge all round (the bezel, or the
LCD glass against the body). Its outline is a convex quadrilateral two to nine
times wider than tall; keypad keys are squarer, printed labels have no frame and
the meter body is taller. Each window found is scored by the edges inside it (the
digits' strokes), so an empty frame (a switch plate, a sticker) comes last.
"""

from __future__ import annotations

import cv2
import numpy as np

from ocr.ink import brightest
from ocr.locate import LOCATE_WIDTH, order_corners
from ocr.reading import Image, Quad

MIN_AREA = 0.008
"""Smallest window, as a fraction of the photo."""
MAX_AREA = 0.6
ASPECT = (1.7, 9.0)
"""Width / height range of a display window."""
MAX_TILT = 20.0
"""Degrees."""
RECTANGULAR = 0.8
"""A contour must fill at least this much of its rotated bounding box."""
NOTCHED = (0.5, 0.9)
"""Or, tried after every rectangular one: the contour fills at least the first share
and its convex hull the second (digits touching the frame notch the contour, not
its hull; an open line of edge pixels fills little)."""
LOOSE_NOTCHED = (0.3, 0.85)
"""The same, for the reader's second pass (a photo nothing else read): an LCD whose
digits and indicators touch the frame all along is notched deeper."""


def _edges(grey: Image) -> Image:
    """Edges with thresholds from the photo's own gradient levels, thickened a little."""
    blurred = cv2.GaussianBlur(grey, (5, 5), 0)
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1)
    level = float(np.percentile(np.hypot(gx, gy), 90))
    edges = cv2.Canny(blurred, max(8.0, 0.25 * level), max(20.0, 0.6 * level))
    return np.asarray(cv2.dilate(edges, np.ones((3, 3), np.uint8)), np.uint8)


def _window_rects(
    edges: Image, notched_limits: tuple[float, float]
) -> list[tuple[cv2.typing.RotatedRect, bool]]:
    """Window-shaped contours, each with whether it is notched (see ``NOTCHED``)."""
    h, w = edges.shape[:2]
    area = float(h * w)
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    rects: list[tuple[cv2.typing.RotatedRect, bool]] = []
    for contour in contours:
        filled = cv2.contourArea(contour)
        if not MIN_AREA * area <= filled <= MAX_AREA * area:
            continue
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90.0
        angle = (angle + 90.0) % 180.0 - 90.0
        if abs(angle) > MAX_TILT or not ASPECT[0] <= rw / max(rh, 1.0) <= ASPECT[1]:
            continue
        notched = filled < RECTANGULAR * rw * rh
        if notched and (
            filled < notched_limits[0] * rw * rh
            or cv2.contourArea(cv2.convexHull(contour)) < notched_limits[1] * rw * rh
        ):
            continue
        rects.append((((cx, cy), (rw, rh), angle), notched))
    return rects


def _overlap(a: cv2.typing.RotatedRect, b: cv2.typing.RotatedRect) -> float:
    """Intersection over union."""
    kind, points = cv2.rotatedRectangleIntersection(a, b)
    if kind == cv2.INTERSECT_NONE or points is None:
        return 0.0
    inter = float(cv2.contourArea(points))
    union = a[1][0] * a[1][1] + b[1][0] * b[1][1] - inter
    return inter / max(1.0, union)


def _stroke_content(strokes: np.ndarray, rect: cv2.typing.RotatedRect) -> float:
    """Mean edge response inside the rect (shrunk off its frame): digits are edges."""
    (cx, cy), (rw, rh), angle = rect
    inner = ((cx, cy), (rw * 0.9, rh * 0.8), angle)
    mask = np.zeros(strokes.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(cv2.boxPoints(inner)).astype(np.int32)], 255)
    return float(cv2.mean(strokes, mask)[0])


def find_windows(
    image: Image, limit: int = 2, notched: tuple[float, float] = NOTCHED
) -> list[Quad]:
    """Up to ``limit`` display windows (TL, TR, BR, BL, image px), most strokes first;
    ``notched`` is the least (fill, hull) share of a notched outline."""
    grey = brightest(image)
    h, w = grey.shape[:2]
    scale = LOCATE_WIDTH / w
    small = np.asarray(
        cv2.resize(grey, (LOCATE_WIDTH, max(1, round(h * scale))), interpolation=cv2.INTER_AREA),
        np.uint8,
    )
    edges = _edges(small)
    rects = _window_rects(edges, notched)
    if not rects:
        return []
    scored = sorted(rects, key=lambda r: (r[1], -_stroke_content(edges, r[0])))
    chosen: list[cv2.typing.RotatedRect] = []
    for rect, _notched in scored:
        if all(_overlap(rect, other) < 0.7 for other in chosen):
            chosen.append(rect)
        if len(chosen) == limit:
            break
    return [order_corners(cv2.boxPoints(rect) / scale) for rect in chosen]


def find_windows_within(image: Image, outer: Quad, limit: int = 2) -> list[Quad]:
    """Windows inside ``outer`` (a meter body or card found as a window), searched on
    its own: the photo's wall no longer sets the edge levels, and the window is seen
    at ``LOCATE_WIDTH`` across the body instead of across the photo."""
    points = np.array(outer, np.float64)
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(points.min(axis=0)), 0, [w, h]).astype(int)
    x1, y1 = np.clip(np.ceil(points.max(axis=0)), 0, [w, h]).astype(int)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    found = find_windows(image[y0:y1, x0:x1], limit)
    dx, dy = float(x0), float(y0)
    return [tuple((x + dx, y + dy) for x, y in quad) for quad in found]  # type: ignore[misc]
