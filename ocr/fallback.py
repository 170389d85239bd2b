"""Second engine: tesseract, asked only about a line the segment decoder could not finish."""

from __future__ import annotations

import re

import cv2
import numpy as np

from ocr.reading import Image

TESSERACT_CONFIG = "--psm 7 -c tessedit_char_whitelist=0123456789."
_NUMBER = re.compile(r"^\d+(\.\d+)?$")


def tesseract_text(crop: Image) -> str | None:
    """Digits tesseract sees on a grey crop of the line, or None (no engine, no number)."""
    try:
        import pytesseract
    except ImportError:  # pragma: no cover - the package is a dependency
        return None
    grey = crop if crop.ndim == 2 else np.asarray(crop.max(axis=2), dtype=np.uint8)
    scaled = cv2.resize(grey, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    _, binary = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.mean(binary) < 127:  # tesseract wants dark text on a light page
        binary = 255 - binary
    try:
        raw = pytesseract.image_to_string(binary, config=TESSERACT_CONFIG, timeout=5)
    except (RuntimeError, OSError, pytesseract.TesseractError):
        return None
    text = "".join(str(raw).split())
    return text if _NUMBER.match(text) else None


def fill_unknowns(partial: str, engine_text: str) -> str | None:
    """Fill each "?" of ``partial`` from ``engine_text`` if both agree everywhere else.

    ``partial`` holds the segment decoder's characters (digits, "." and "?"). The
    engine may only supply the unknown characters: it must have the same layout,
    and every digit the segment decoder is sure of must match, or nothing is used.
    """
    engine_digits = engine_text.replace(".", "")
    wanted = partial.replace(".", "")
    if len(engine_digits) != len(wanted):
        return None
    filled: list[str] = []
    for mine, theirs in zip(wanted, engine_digits, strict=True):
        if mine != "?" and mine != theirs:
            return None
        filled.append(theirs)
    out: list[str] = []
    index = 0
    for char in partial:
        if char == ".":
            out.append(".")
        else:
            out.append(filled[index])
            index += 1
    return "".join(out)
