"""``read_display``: photo in, ``Reading`` out. Orchestrates the stages, decides ok/unreadable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from itertools import chain

import cv2
import numpy as np

from ocr.ink import brightest, grey_range
from ocr.line_model import LineGuess, content_width, digit_pitch, model_available, read_line
from ocr.locate import CROP_MAX_HEIGHT, locate_candidates, looks_like_crop, rectify, refine
from ocr.reading import DigitBox, Image, Quad, Reading
from ocr.windows import LOOSE_NOTCHED, find_windows, find_windows_within

MAX_DIGITS = 10
MIN_CHAR_CONFIDENCE = 0.9
"""Every character the line model emits must have at least this probability."""
SIDE_PAD = 0.3
"""Columns added on each side of the widened view, in line heights."""
STRETCH = 1.35
"""Width factor of the scaled view when the line holds fewer than two digits."""
PITCH = 0.8
"""Digit pitch (centre to centre, in line heights) the scaled view brings a line to."""
SCALE_RANGE = (0.75, 1.35)
"""Least and most the scaled view changes a line's width by."""
MAX_POINT_DOUBT = 0.1
"""Highest probability, in any view, of a decimal point the model does not emit."""
MIN_CONTRAST = 24.0
"""Grey range (2nd-98th percentile) below which a frame is dark or blank."""
MAX_CANDIDATES = 3
"""Stroke bands of a whole photo tried, best first (after the display windows)."""
MAX_WINDOWS = 2
"""Framed display windows of a whole photo tried, most strokes first."""
LINE_HEIGHT = 48
"""Height (px) a located line is rectified to."""
WIDEN = 1.5
"""A located line must read the same when widened by this many heights per side."""
LONE_WIDEN = 8.0
"""A lone character must read alone when widened by this many heights per side."""
NUMBER = re.compile(r"^\d+(\.\d+)?$")
VIEWS_DISAGREE = "two views of the line disagree"
DISPLAY_TEST = "display test (every segment lit)"
PARTIAL_LINE = "more strokes beside the line (partial line?)"
TEST_PATTERN_DIGITS = 5
"""A line of at least this many 8s is the display test, never read as a number."""


def _unreadable(reason: str, quad: Quad | None = None) -> Reading:
    return Reading("unreadable", None, "", 0.0, quad=quad, reason=reason)


def displayed_text(raw: str) -> str:
    """Drop leading zeros but keep one before the point: "000123.40" → "123.40"."""
    whole, point, fraction = raw.partition(".")
    whole = whole.lstrip("0") or "0"
    return whole + point + fraction


def _contrast(crop: Image) -> float:
    return grey_range(brightest(crop))


def _guess_boxes(guess: LineGuess, crop: Image) -> tuple[DigitBox, ...]:
    h, w = crop.shape[:2]
    stretch = w / max(1e-6, content_width(crop))
    boxes: list[DigitBox] = []
    for char, conf, (a, b) in zip(
        guess.text, guess.char_confidences, guess.char_columns, strict=True
    ):
        if char == ".":
            if boxes:
                boxes[-1] = replace(boxes[-1], point_after=True)
            continue
        x0 = round(a * stretch)
        boxes.append(DigitBox(x0, 0, max(1, round(b * stretch) - x0), h, char, conf))
    return tuple(boxes)


def _other_views(crop: Image, guess: LineGuess) -> list[Image]:
    """The same line seen otherwise: widened (its edge columns repeated on each side,
    so the digits sit elsewhere in the network's input) and scaled in width so its
    digits sit ``PITCH`` line heights apart (within ``SCALE_RANGE``).

    Scaling stretches a tightly set line (more network frames per character, so a
    decimal point squeezed between two digits gets room of its own) and squeezes a
    widely set one, whose digits stretched further would outgrow what one network
    frame sees. The widened view is not padded above and below: repeating the edge
    rows of a crop cut tight at its ink draws the digits out into long false
    strokes (a plain frame instead turns a bezel line into a "1")."""
    h, w = crop.shape[:2]
    side = max(2, round(SIDE_PAD * h))
    wide_view = cv2.copyMakeBorder(crop, 0, 0, side, side, cv2.BORDER_REPLICATE)
    pitch = digit_pitch(guess)
    low, high = SCALE_RANGE
    scale = STRETCH if pitch is None else min(high, max(low, PITCH / pitch))
    scaled = cv2.resize(crop, (max(4, round(w * scale)), h), interpolation=cv2.INTER_LINEAR)
    return [np.asarray(wide_view, np.uint8), np.asarray(scaled, np.uint8)]


def display_test(text: str) -> bool:
    """Every position an 8: the meter's all-segments display test, not a balance."""
    digits = text.replace(".", "")
    return len(digits) >= TEST_PATTERN_DIGITS and set(digits) == {"8"}


def _doubt(guess: LineGuess) -> str | None:
    """Why one view's reading is not sure enough, or None."""
    if min(guess.char_confidences) < MIN_CHAR_CONFIDENCE:
        return "a character is ambiguous"
    if guess.point_doubt > MAX_POINT_DOUBT:
        return "a decimal point may be hidden"
    return None


def read_line_image(crop: Image, quad: Quad | None = None) -> Reading:
    """Read a crop that holds the line of digits (any polarity, colour or grey).

    The learned line model reads the crop three times (as given, widened, and
    scaled to a set digit pitch); all views must give the same well-formed number
    with every character confident and no decimal point half seen, else
    ``unreadable``.
    """
    if crop.size == 0 or min(crop.shape[:2]) < 6:
        return _unreadable("no display found", quad)
    if _contrast(crop) < MIN_CONTRAST:
        return _unreadable("no contrast (dark frame or blank display)", quad)
    if not model_available():  # pragma: no cover - the model ships with the package
        return _unreadable("line model not installed", quad)
    guess = read_line(crop)
    if not guess.text:
        return _unreadable("no digits", quad)
    if "-" in guess.text:
        return _unreadable("display shows a message, not a number", quad)
    if not NUMBER.match(guess.text) or len(guess.text) > MAX_DIGITS + 1:
        return _unreadable("implausible number", quad)
    if display_test(guess.text):
        return _unreadable(DISPLAY_TEST, quad)
    if doubt := _doubt(guess):
        return _unreadable(doubt, quad)
    confidence = min(guess.char_confidences)
    for view in _other_views(crop, guess):
        other = read_line(view)
        if other.text != guess.text:
            return _unreadable(VIEWS_DISAGREE, quad)
        if doubt := _doubt(other):
            return _unreadable(doubt, quad)
        confidence = min(confidence, *other.char_confidences)
    text = displayed_text(guess.text)
    digits = _guess_boxes(guess, crop)
    return Reading(
        status="ok",
        value=float(text),
        text=text,
        confidence=confidence,
        digit_confidences=tuple(d.confidence for d in digits),
        quad=quad,
        digits=digits,
        engine="line-model",
    )


def widened(quad: Quad, factor: float = WIDEN, across: float = 0.0) -> Quad:
    """``quad`` grown along its line by ``factor`` of its height on each side, and
    across it (above and below) by ``across`` of its height."""
    tl, tr, br, bl = (np.array(p, np.float64) for p in quad)
    height = float(np.linalg.norm(bl - tl))
    along = (tr - tl) / max(1e-6, float(np.linalg.norm(tr - tl)))
    down = (bl - tl) / max(1e-6, height)
    grow, lift = factor * height * along, across * height * down
    points = (tl - grow - lift, tr + grow - lift, br + grow + lift, bl - grow + lift)
    return tuple((float(p[0]), float(p[1])) for p in points)  # type: ignore[return-value]


def read_display(image: Image, roi: Quad | None = None) -> Reading:
    """Read the seven-segment display in a photo, a configured quad or a crop."""
    if image.ndim not in (2, 3) or image.size == 0:
        return _unreadable("not an image")
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if roi is not None:
        return read_line_image(rectify(image, roi), roi)
    if looks_like_crop(image):
        return read_line_image(image)
    if _contrast(image) < MIN_CONTRAST:
        return _unreadable("no contrast (dark frame or blank display)")
    first: Reading | None = None
    for quad in _candidates(image):
        reading = _read_whole_line(image, quad)
        if reading.status == "ok":
            return reading
        first = first or reading
    if image.shape[0] <= CROP_MAX_HEIGHT:  # a crop of a short line ("47.2" is 2:1)
        whole = read_line_image(image)
        if whole.status == "ok":
            return whole
    return first or _unreadable("no display found")


def _read_whole_line(image: Image, quad: Quad, grow: int = 2) -> Reading:
    """Read the line in ``quad`` if the quad holds all of it.

    A quad holding only part of the line (or a box drawn by glare across the
    digits) must not pass: the line widened must read the same, character for
    character. When the widened line reads surely but more, the widened quad is
    read instead (``grow`` times), under the same checks. So is it when the quad's
    own reading fails and the widened line reads a number surely: a window whose
    outline the first digit notches cuts that digit, and its views disagree."""
    reading = read_line_image(rectify(image, quad, LINE_HEIGHT), quad)
    if reading.status != "ok" and (grow == 0 or reading.reason != VIEWS_DISAGREE):
        return reading
    wider = widened(quad)
    wide = read_line(rectify(image, wider, LINE_HEIGHT))
    whole = reading.status == "ok" and wide.text == shown_text(reading) and is_sure(wide)
    if whole and _alone(image, quad, reading):
        return reading
    if grow > 0 and is_sure(wide) and (reading.status == "ok" or NUMBER.match(wide.text)):
        grown = _read_whole_line(image, wider, grow - 1)
        if grown.status == "ok":
            return grown
    if reading.status != "ok":
        return reading
    return _unreadable(PARTIAL_LINE, quad)


def _alone(image: Image, quad: Quad, reading: Reading) -> bool:
    """A lone character must still read alone with ``LONE_WIDEN`` line heights of
    room on each side: a keypad key found as a window holds one glyph, and the
    line widened by ``WIDEN`` stays on the blank key, while this reaches the keys
    beside it."""
    if len(reading.digits) > 1:
        return True
    wide = read_line(rectify(image, widened(quad, LONE_WIDEN), LINE_HEIGHT))
    return wide.text == shown_text(reading)


def shown_text(reading: Reading) -> str:
    """The characters a reading was read from, leading zeros kept ("000" for 0): a
    quad holding "000" of "0000001.1" must not pass because "000000" reads 0 too."""
    return "".join(d.char + ("." if d.point_after else "") for d in reading.digits)


def is_sure(guess: LineGuess) -> bool:
    return bool(guess.char_confidences) and min(guess.char_confidences) >= MIN_CHAR_CONFIDENCE


def _candidates(image: Image) -> Iterator[Quad]:
    """Where the line may be, best first: each framed window, the band of strokes
    inside it, then the stroke bands of the whole photo.

    Only when none of those reads (the generator is lazy), a second pass: windows
    whose outline the digits notch deeper (``LOOSE_NOTCHED``), more of them, and
    windows found inside each window of the first pass (an LCD inside the meter
    body found instead of it). It can turn a refused photo into a reading, never
    change one the first pass gives."""
    windows = find_windows(image, MAX_WINDOWS)
    for window in windows:
        yield window
        yield refine(image, window)
    yield from locate_candidates(image, MAX_CANDIDATES)
    tried = set(windows)
    loose = find_windows(image, MAX_WINDOWS + 2, LOOSE_NOTCHED)
    for window in chain(loose, *(find_windows_within(image, w, MAX_WINDOWS) for w in windows)):
        if window not in tried:
            tried.add(window)
            yield window
            yield refine(image, window)
