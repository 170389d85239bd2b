"""Synthetic seven-segment images for the reader's unit tests."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.reading import Image
from tokenmeter.sim.render_lcd import DIGIT_SEGMENTS, SEGMENTS


def draw_digits(
    text: str,
    *,
    dark_on_light: bool = True,
    ghosts: bool = False,
    slant: float = 0.0,
    digit_height: int = 60,
    background: tuple[int, int, int] = (170, 200, 160),
) -> Image:
    """A BGR crop of ``text`` ("0"-"9", " ", ".") drawn as seven-segment digits."""
    h = digit_height
    w = int(0.55 * h)
    t = max(3, h // 9)
    pitch = int(0.8 * h)
    count = sum(1 for c in text if c != ".")
    width = pitch * count + 2 * t + 20
    image = np.full((h + 20, width, 3), background, np.uint8)
    ink = (40, 40, 40) if dark_on_light else (240, 240, 240)
    ghost = tuple(int(0.85 * b + 0.15 * i) for b, i in zip(background, ink, strict=True))
    x = 10
    for char in text:
        if char == ".":
            cv2.rectangle(
                image, (x - pitch + w + t, 10 + h - t), (x - pitch + w + 2 * t, 10 + h), ink, -1
            )
            continue
        lit = tuple(name in DIGIT_SEGMENTS[char] for name in SEGMENTS)
        boxes = {
            "a": (x + t, 10, x + w - t, 10 + t),
            "b": (x + w - t, 10 + t, x + w, 10 + h // 2 - t // 2),
            "c": (x + w - t, 10 + h // 2 + t // 2, x + w, 10 + h - t),
            "d": (x + t, 10 + h - t, x + w - t, 10 + h),
            "e": (x, 10 + h // 2 + t // 2, x + t, 10 + h - t),
            "f": (x, 10 + t, x + t, 10 + h // 2 - t // 2),
            "g": (x + t, 10 + h // 2 - t // 2, x + w - t, 10 + h // 2 + t // 2),
        }
        for name, on in zip(SEGMENTS, lit, strict=True):
            if on or ghosts:
                x0, y0, x1, y1 = boxes[name]
                cv2.rectangle(image, (x0, y0), (x1 - 1, y1 - 1), ink if on else ghost, -1)
        x += pitch
    if slant:
        rows = image.shape[0]
        matrix = np.array([[1.0, -slant, slant * rows / 2], [0.0, 1.0, 0.0]])
        image = np.asarray(
            cv2.warpAffine(image, matrix, (width, rows), borderValue=background), np.uint8
        )
    return np.asarray(cv2.GaussianBlur(image, (3, 3), 0), dtype=np.uint8)
