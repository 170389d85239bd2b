"""From a colour crop of the digits to an "ink" map: segment strength, background ~0.

The reader works on strokes, not on grey levels. A rolling-ball (top-hat) filter
removes the backlight, its gradients and glare larger than a stroke, for either
polarity: dark segments on a light LCD or light segments on a dark one.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ocr.reading import Image

FloatImage = npt.NDArray[np.float32]

WORK_HEIGHT = 64
"""Crops are scaled to this height (px) before any measurement."""


def to_grey(image: Image) -> Image:
    """Grey with the most contrast for coloured backlights: the brightest channel.

    A green, orange or blue backlight is bright in at least one channel while a
    segment is dark in all of them, so the per-pixel maximum keeps the contrast
    that a plain luminance conversion would halve.
    """
    if image.ndim == 2:
        return image
    return np.asarray(image.max(axis=2), dtype=np.uint8)


def scale_to_height(grey: Image, height: int = WORK_HEIGHT) -> Image:
    """Resize keeping the aspect ratio so that the image is ``height`` px tall."""
    h, w = grey.shape[:2]
    width = max(1, round(w * height / h))
    interpolation = cv2.INTER_CUBIC if height > h else cv2.INTER_AREA
    return np.asarray(cv2.resize(grey, (width, height), interpolation=interpolation))


def stroke_maps(grey: Image, stroke_span: int) -> tuple[FloatImage, FloatImage]:
    """Return (dark-stroke map, light-stroke map): black-hat and top-hat responses.

    ``stroke_span`` is the structuring element size, larger than a stroke width and
    smaller than the backlight features to be removed.
    """
    size = max(3, stroke_span | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    smooth = cv2.GaussianBlur(grey, (3, 3), 0)
    dark = cv2.morphologyEx(smooth, cv2.MORPH_BLACKHAT, kernel).astype(np.float32)
    light = cv2.morphologyEx(smooth, cv2.MORPH_TOPHAT, kernel).astype(np.float32)
    return dark, light


def _stroke_score(strokes: FloatImage) -> float:
    """How much structured stroke content a map holds: high percentile minus median."""
    hi = float(np.percentile(strokes, 95))
    mid = float(np.median(strokes))
    return hi - mid


def ink_map(grey: Image, stroke_span: int) -> tuple[FloatImage, bool]:
    """Segment-strength map in grey levels and whether segments are dark on light.

    The polarity whose stroke map holds more energy in its upper tail wins: digits
    are thin strokes covering a minority of the display in either case.
    """
    dark, light = stroke_maps(grey, stroke_span)
    dark_on_light = _stroke_score(dark) >= _stroke_score(light)
    return (dark if dark_on_light else light), dark_on_light


def remove_long_lines(ink: FloatImage, digit_height: int) -> FloatImage:
    """Remove straight structures longer than any segment: display frame, bezel edges.

    A horizontal run longer than 1.5 digit heights or a vertical one longer than
    1.3 digit heights cannot be part of a digit.
    """
    horizontal = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(1.5 * digit_height)), 1))
    vertical = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(1.3 * digit_height))))
    lines = np.maximum(
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, horizontal),
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, vertical),
    )
    return np.asarray(ink - lines, dtype=np.float32)
