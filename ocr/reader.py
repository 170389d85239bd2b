"""``read_display``: photo in, ``Reading`` out. Orchestrates the stages, decides ok/unreadable."""

from __future__ import annotations

import numpy as np

from ocr.decode_line import DecodedDigit, DecodedLine, decode_line
from ocr.fallback import fill_unknowns, tesseract_text
from ocr.locate import locate_digits, looks_like_crop, rectify, refine
from ocr.reading import DigitBox, Image, Quad, Reading

MIN_DIGIT_CONFIDENCE = 0.4
"""A digit whose weakest segment is closer than this (fraction of the half-gap between
lit and unlit levels) to the threshold is not trusted."""

MAX_DIGITS = 10
MAX_UNKNOWN_FOR_FALLBACK = 1
"""Tesseract may fill at most this many digits the segments could not decode."""


def _unreadable(reason: str, quad: Quad | None = None, line: DecodedLine | None = None) -> Reading:
    digits = _digit_boxes(line.digits) if line else ()
    return Reading("unreadable", None, "", 0.0, quad=quad, digits=digits, reason=reason)


def _digit_boxes(digits: tuple[DecodedDigit, ...]) -> tuple[DigitBox, ...]:
    return tuple(
        DigitBox(
            d.cell.x0,
            d.cell.y0,
            d.cell.x1 - d.cell.x0,
            d.cell.y1 - d.cell.y0,
            d.char,
            d.confidence,
            d.lit,
            d.cell.point_after,
        )
        for d in digits
    )


def _trim(digits: list[DecodedDigit]) -> list[DecodedDigit]:
    """Drop blank positions at both ends and unit-label debris after the last digit."""
    while digits and digits[-1].char in " ?" and digits[-1].cell.small:
        digits.pop()
    while digits and digits[-1].char == " ":
        digits.pop()
    while digits and digits[0].char == " ":
        digits.pop(0)
    return digits


def _layout(digits: list[DecodedDigit]) -> str:
    """Characters with the decimal point placed; weak digits shown as "?"."""
    out: list[str] = []
    for index, digit in enumerate(digits):
        if digit.cell.small and index > 0 and "." not in out:
            out.append(".")
        weak = digit.confidence < MIN_DIGIT_CONFIDENCE
        out.append("?" if weak or digit.char == " " else digit.char)
        if digit.cell.point_after and index < len(digits) - 1:
            out.append(".")
    return "".join(out)


def displayed_text(raw: str) -> str:
    """Drop leading zeros but keep one before the point: "000123.40" → "123.40"."""
    whole, point, fraction = raw.partition(".")
    whole = whole.lstrip("0") or "0"
    return whole + point + fraction


def read_line_image(crop: Image, quad: Quad | None = None) -> Reading:
    """Read a crop that holds the line of digits (any polarity, colour or grey)."""
    line = decode_line(crop)
    if line.reason:
        return _unreadable(line.reason, quad, line)
    digits = _trim(list(line.digits))
    if not digits:
        return _unreadable("blank display", quad, line)
    if len(digits) > MAX_DIGITS:
        return _unreadable("too many digit positions", quad, line)
    raw = _layout(digits)
    engine = "segments"
    if raw.count("?") > MAX_UNKNOWN_FOR_FALLBACK:
        return _unreadable("undecodable digits", quad, line)
    if "?" in raw:
        engine_text = tesseract_text(crop)
        filled = fill_unknowns(raw, engine_text) if engine_text else None
        if filled is None:
            return _unreadable("undecodable digit", quad, line)
        raw, engine = filled, "tesseract"
    if raw.count(".") > 1 or raw.startswith(".") or raw.endswith("."):
        return _unreadable("implausible number", quad, line)
    confidences = tuple(d.confidence for d in digits)
    text = displayed_text(raw)
    return Reading(
        status="ok",
        value=float(text),
        text=text,
        confidence=float(min(confidences)) if engine == "segments" else 0.5,
        digit_confidences=confidences,
        quad=quad,
        digits=_digit_boxes(tuple(digits)),
        engine=engine,
    )


def read_display(image: Image, roi: Quad | None = None) -> Reading:
    """Read the seven-segment display in a photo, a configured quad or a crop."""
    if image.ndim not in (2, 3) or image.size == 0:
        return _unreadable("not an image")
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if roi is not None:
        return read_line_image(rectify(image, roi), roi)
    if looks_like_crop(image):
        return read_line_image(image)
    rough = locate_digits(image)
    if rough is None:
        return _unreadable("no display found")
    quad = refine(image, rough)
    return read_line_image(rectify(image, quad), quad)
