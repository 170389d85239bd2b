"""Aiming a camera at a display: what is wrong with a photo, and the overlay that
shows the owner what the reader found.

``photo_problems`` names what keeps a photo from being read well, in the order an
owner should fix it: too dark (light, flash), out of focus (variance of the
Laplacian inside the display, or the whole photo when none is found), the display
cut off at the photo's edge (aim, distance). ``draw_overlay`` draws the found box
and the reading on a copy of the photo. Pure: numpy in, numpy out.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

from ocr.reading import Image, Quad

Problem = Literal["too_dark", "out_of_focus", "cut_off", "no_display"]

MIN_BRIGHT = 60.0
"""Least 95th-percentile grey (0-255) of the display (or photo): under it, too dark."""
MIN_SHARPNESS = 30.0
"""Least variance of the Laplacian inside the display: sharp rendered and real
displays give 250-700, a blur of 2.5 px brings them under 20."""
MIN_SHARPNESS_PHOTO = 15.0
"""The same for the whole photo when no display was found."""
EDGE_MARGIN = 0.02
"""A display corner closer to the photo's edge than this share of its size is cut off."""
_OK_COLOUR = (60, 200, 60)  # BGR
_BAD_COLOUR = (40, 40, 230)


def photo_problems(image: Image, quad: Quad | None) -> list[Problem]:
    """What is wrong with ``image`` for reading the display in ``quad`` (None: no
    display found); empty when nothing is."""
    grey = np.asarray(
        image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), np.uint8
    )
    region = _region(grey, quad)
    problems: list[Problem] = []
    if float(np.percentile(region, 95)) < MIN_BRIGHT:
        problems.append("too_dark")
    sharpness = float(cv2.Laplacian(region, cv2.CV_64F).var())
    if sharpness < (MIN_SHARPNESS if quad is not None else MIN_SHARPNESS_PHOTO):
        problems.append("out_of_focus")
    if quad is None:
        problems.append("no_display")
    elif _touches_edge(quad, grey.shape[1], grey.shape[0]):
        problems.append("cut_off")
    return problems


def draw_overlay(image: Image, quad: Quad | None, label: str, ok: bool = True) -> Image:
    """A copy of ``image`` (BGR) with ``quad`` outlined and ``label`` written above it
    (at the top left when there is no quad); green when ``ok``, else red."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    height, width = out.shape[:2]
    colour = _OK_COLOUR if ok else _BAD_COLOUR
    thickness = max(2, round(min(width, height) / 200))
    x, y = 8, 8
    if quad is not None:
        points = np.array([[round(px), round(py)] for px, py in quad], np.int32)
        cv2.polylines(out, [points], True, colour, thickness, cv2.LINE_AA)
        x, y = int(points[:, 0].min()), int(points[:, 1].min())
    if label:
        scale = max(0.5, min(width, height) / 600)
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        top = y - th - base - 2 * thickness
        top = top if top >= 0 else min(height - th - base, y + thickness)
        left = max(0, min(x, width - tw - 4))
        cv2.rectangle(out, (left, top), (left + tw + 4, top + th + base + 4), colour, -1)
        origin = (left + 2, top + th + 2)
        cv2.putText(
            out, label, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness, cv2.LINE_AA
        )
    return np.asarray(out, np.uint8)


def _region(grey: Image, quad: Quad | None) -> Image:
    """The bounding box of ``quad`` in ``grey`` (the whole photo when None or empty)."""
    if quad is None:
        return grey
    xs = [min(max(0, round(x)), grey.shape[1]) for x, _ in quad]
    ys = [min(max(0, round(y)), grey.shape[0]) for _, y in quad]
    region = grey[min(ys) : max(ys), min(xs) : max(xs)]
    return region if region.size >= 16 else grey


def _touches_edge(quad: Quad, width: int, height: int) -> bool:
    mx, my = EDGE_MARGIN * width, EDGE_MARGIN * height
    return any(x < mx or y < my or x > width - 1 - mx or y > height - 1 - my for x, y in quad)
