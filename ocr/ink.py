"""Stroke maps for the locator: segment strength, background ~0.

The locator looks for strokes, not grey levels. A rolling-ball (top-hat) filter
removes the backlight, its gradients and glare larger than a stroke, for either
polarity: dark segments on a light LCD or light segments on a dark one.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ocr.reading import Image

FloatImage = npt.NDArray[np.float32]


def brightest(image: Image) -> Image:
    """Grey as the brightest channel: keeps the contrast of coloured backlights.

    (OpenCV's per-element max: numpy's ``max(axis=2)`` takes ~6 ms on a 640x480 photo.)
    """
    if image.ndim == 2:
        return image
    b, g, r = cv2.split(image)[:3]
    return np.asarray(cv2.max(cv2.max(b, g), r), np.uint8)


def grey_range(grey: Image, low: float = 2, high: float = 98) -> float:
    """Spread between two percentiles of a uint8 image, from its histogram (fast)."""
    counts = np.cumsum(np.bincount(grey.ravel(), minlength=256))
    total = float(counts[-1])
    lo = int(np.searchsorted(counts, total * low / 100))
    hi = int(np.searchsorted(counts, total * high / 100))
    return float(hi - lo)


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
