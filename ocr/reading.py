"""What the reader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Quad = tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
"""Four corners (x, y) in image pixels: top-left, top-right, bottom-right, bottom-left."""

Image = npt.NDArray[np.uint8]
"""A BGR (H, W, 3) or grey (H, W) 8-bit image."""


@dataclass(frozen=True)
class DigitBox:
    """One digit position found on the display (in rectified display pixels)."""

    x: int
    y: int
    w: int
    h: int
    char: str  # "0"-"9"
    confidence: float
    point_after: bool = False  # a decimal point follows this digit


@dataclass(frozen=True)
class Reading:
    """The reader's answer for one photo.

    ``text`` is the number as displayed without leading zeros (``"123.45"``);
    ``value`` is None unless ``status == "ok"``.
    """

    status: Literal["ok", "unreadable"]
    value: float | None
    text: str
    confidence: float
    digit_confidences: tuple[float, ...] = ()
    quad: Quad | None = None
    digits: tuple[DigitBox, ...] = field(default_factory=tuple)
    engine: str = "line-model"  # which reader produced it
    reason: str = ""  # why unreadable, in a few English words
