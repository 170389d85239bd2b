"""Reading a display whose camera never moves, with its own confirmed references.

A fixed camera always sees the same display in the same place, so the line is read
inside the profile's quad (no search of the photo), the number of decimals the
display shows is enforced (a reading with another number of decimals is a misread
point), and the display's own digit shapes, cut from confirmed reference crops,
confirm characters the network alone is unsure of. In that order:

1. the gate (``read_line_image``) on the line in the quad;
2. the gate on the digit line tracked near the quad. A mounted camera still shifts
   a few pixels and a degree between shots, enough for the quad to cut a digit's
   edge or let a frame bar in; the line is found again inside the quad widened
   along its line, then also a little across it (``refine``, the step the search
   uses to shrink a window to its digits), and the tracked quad must hold the whole
   line: widened again, it reads the same;
3. the references, only where the gate refused the quad's line for a reason they
   may settle (``ADAPTABLE``).

The adaptation is per-character nearest neighbour on image patches: each character
of the network's raw guess is cut from the network input at its CTC column and
compared (normalised correlation, a few pixels of shift) with every reference patch.
A character below the gate's confidence is accepted only when its nearest reference
patch carries the same character by a clear margin over every other character, and
the references also hold the character the network found next likeliest. Where the
gate refused because its views of the line disagree, the guess's confidences do not
say which character is in doubt, so every digit must be confirmed. A tracked line
that reads a number (a second view) must read the same one. The adaptation can turn a
refusal into a reading, never a reading into another number: the reading is always
the network's own guess, and everything else the gate checks (a well-formed number,
no message, not the display test) still holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from ocr.line_model import (
    ALPHABET,
    INPUT_WIDTH,
    LineGuess,
    content_width,
    frame_probabilities,
    prepare,
    read_line,
)
from ocr.locate import rectify, refine
from ocr.reader import (
    LINE_HEIGHT,
    MIN_CHAR_CONFIDENCE,
    NUMBER,
    VIEWS_DISAGREE,
    WIDEN,
    display_test,
    displayed_text,
    is_sure,
    read_line_image,
    shown_text,
    widened,
)
from ocr.reading import DigitBox, Image, Quad, Reading

PATCH_WIDTH = 20
"""Width (network input px, of 32 height) of a character patch."""
SHIFT = 3
"""Patches are compared at up to this many px of horizontal shift either way."""
MIN_GUESS = 0.5
"""A character the network gives less than this is not confirmed by references."""
MIN_MATCH = 0.85
"""Least correlation of a character's patch with a reference patch of its character."""
MIN_MARGIN = 0.04
"""How much better the best match must be than the best match of any other character."""
ADAPTABLE = frozenset({"a character is ambiguous", "a decimal point may be hidden", VIEWS_DISAGREE})
"""Gate refusals the references may resolve; every other refusal stands."""
TRACK_ACROSS = (0.0, 0.25)
"""The line is tracked in the quad grown by the reader's ``WIDEN`` along it, then
also by a quarter of its height above and below: a shift of a few pixels across a
thin quad leaves the decimal point, low in the line, outside it."""
WRONG_DECIMALS = "number of decimals differs from the profile"
TOO_MANY_DIGITS = "more digits than the display shows"
NOT_CONFIRMED = "a character is ambiguous and not like the references"

ENGINE = "line-model+references"

Patch = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LineReference:
    """A confirmed line crop of this display and the value it shows ("123.45")."""

    crop: Image
    text: str


@dataclass(frozen=True)
class ReferencePatches:
    """Character patches cut from the references the network reads as confirmed."""

    chars: tuple[str, ...]
    patches: tuple[Patch, ...]
    digit_counts: frozenset[int]  # digits in each reference's raw reading

    @staticmethod
    def build(references: Sequence[LineReference]) -> ReferencePatches:
        """Cut the patches of every reference whose raw network reading is its value;
        one the network reads otherwise gives none (its characters cannot be placed)."""
        chars: list[str] = []
        patches: list[Patch] = []
        counts: set[int] = set()
        for reference in references:
            prepared = prepare(reference.crop)[0, 0]
            guess = read_line(reference.crop)
            if displayed_text(guess.text) != reference.text:
                continue
            counts.add(sum(c.isdigit() for c in guess.text))
            for char, columns in zip(guess.text, guess.char_columns, strict=True):
                if char.isdigit():
                    chars.append(char)
                    patches.append(_patch(prepared, columns))
        return ReferencePatches(tuple(chars), tuple(patches), frozenset(counts))

    def confirms(self, char: str, patch: Patch, rival: str | None = None) -> float | None:
        """The best correlation with a reference patch of ``char`` when it beats every
        other character's by ``MIN_MARGIN`` and reaches ``MIN_MATCH``; else None.

        ``rival`` is the character the network found next likeliest: the references
        must hold it too, or they cannot tell the two apart (a display whose "4" has
        a frame bar above it looks like a "9" to the network; references without a
        "4" would confirm the "9")."""
        best: dict[str, float] = {}
        for label, reference in zip(self.chars, self.patches, strict=True):
            best[label] = max(best.get(label, -1.0), _correlation(patch, reference))
        own = best.pop(char, None)
        if own is None or own < MIN_MATCH:
            return None
        if rival is not None and rival != char and rival not in best:
            return None
        if best and own - max(best.values()) < MIN_MARGIN:
            return None
        return own


def read_with_profile(
    image: Image,
    quad: Quad,
    *,
    decimals: int | None = None,
    digits: int | None = None,
    references: ReferencePatches | None = None,
) -> Reading:
    """Read the line inside ``quad`` (no search), then in the line tracked near it;
    refuse a reading with another number of ``decimals`` or more than ``digits``
    digits; let ``references`` confirm the characters the gate alone found ambiguous
    (the steps in the module docstring)."""
    first = _gate(image, quad, decimals, digits)
    if first.status == "ok":
        return first
    tracked: list[Quad] = []
    for across in TRACK_ACROSS:
        found = refine(image, widened(quad, WIDEN, across))
        if found == quad or found in tracked:
            continue
        tracked.append(found)
        second = _gate(image, found, decimals, digits)
        if second.status == "ok" and _whole_line(image, found, second):
            return second
    if references is None or not references.chars or first.reason not in ADAPTABLE:
        return first
    adapted = _adapted(line_crop(image, quad), quad, first, decimals, digits, references)
    if adapted.status == "ok":
        for found in tracked:  # a second view that reads another number vetoes
            other = read_line(line_crop(image, found)).text
            if NUMBER.match(other) and displayed_text(other) != adapted.text:
                return _refused(NOT_CONFIRMED, quad)
    return adapted


def line_crop(image: Image, quad: Quad) -> Image:
    """The rectified line inside ``quad`` at the height the reader's search reads a
    line (``LINE_HEIGHT``): how profiles read a photo and cut their references."""
    return rectify(image, quad, LINE_HEIGHT)


def _whole_line(image: Image, quad: Quad, reading: Reading) -> bool:
    """Whether the line widened by ``WIDEN`` reads surely as ``reading``, character for
    character: the tracked quad holds the whole line, not a part of it."""
    wide = read_line(line_crop(image, widened(quad)))
    return wide.text == shown_text(reading) and is_sure(wide)


def _gate(image: Image, quad: Quad, decimals: int | None, digits: int | None) -> Reading:
    """The gate's reading of the line in ``quad``, held against the profile."""
    return fits_profile(read_line_image(line_crop(image, quad), quad), decimals, digits)


def fits_profile(reading: Reading, decimals: int | None, digits: int | None) -> Reading:
    """``reading``, or a refusal when it has another number of ``decimals`` or more
    than ``digits`` digits (for readings found by a search of the whole photo)."""
    if reading.status != "ok":
        return reading
    problem = _against_profile(reading.text, len(reading.digits), decimals, digits)
    return _refused(problem, reading.quad) if problem else reading


def _adapted(
    crop: Image,
    quad: Quad,
    refused: Reading,
    decimals: int | None,
    digits: int | None,
    references: ReferencePatches,
) -> Reading:
    """The network's raw guess, when the profile settles its point and the references
    confirm each character the gate found ambiguous; else the gate's refusal."""
    guess = read_line(crop)
    if not NUMBER.match(guess.text) or display_test(guess.text):
        return refused
    text = displayed_text(guess.text)
    count = sum(c.isdigit() for c in guess.text)
    if decimals is None:
        return refused  # without known decimals a doubtful point cannot be settled
    if problem := _against_profile(text, count, decimals, digits):
        return _refused(problem, quad)
    if len(references.digit_counts) == 1 and count not in references.digit_counts:
        return _refused(NOT_CONFIRMED, quad)  # a fixed-width display lost or gained a digit
    prepared = prepare(crop)[0, 0]
    probabilities = frame_probabilities(crop)
    every = refused.reason == VIEWS_DISAGREE  # which character the views differ on is unknown
    confidences: list[float] = []
    for char, confidence, columns in zip(
        guess.text, guess.char_confidences, guess.char_columns, strict=True
    ):
        if char == "." or (confidence >= MIN_CHAR_CONFIDENCE and not every):
            confidences.append(max(confidence, MIN_CHAR_CONFIDENCE))  # the profile's point
            continue
        match = None
        if confidence >= MIN_GUESS:
            rival = _rival(probabilities, char, columns)
            match = references.confirms(char, _patch(prepared, columns), rival)
        if match is None:
            return _refused(NOT_CONFIRMED, quad)
        confidences.append(match)
    return _reading(text, guess, confidences, crop, quad)


def _rival(
    probabilities: npt.NDArray[np.float32], char: str, columns: tuple[float, float]
) -> str | None:
    """The digit other than ``char`` the network gives most on the character's frames."""
    frames = probabilities.shape[0]
    first = max(0, int(columns[0] * frames) - 1)
    last = min(frames, round(columns[1] * frames) + 1)
    best, rival = 0.0, None
    for index, label in enumerate(ALPHABET, start=1):
        if label == char or not label.isdigit():
            continue
        value = float(probabilities[first:last, index].max())
        if value > best:
            best, rival = value, label
    return rival


def _against_profile(
    text: str, digit_count: int, decimals: int | None, digits: int | None
) -> str | None:
    """Why a reading does not fit the profile, or None."""
    if decimals is not None and len(text.partition(".")[2]) != decimals:
        return WRONG_DECIMALS
    if digits is not None and digit_count > digits:
        return TOO_MANY_DIGITS
    return None


def _refused(reason: str, quad: Quad | None) -> Reading:
    return Reading("unreadable", None, "", 0.0, quad=quad, reason=reason)


def _patch(prepared: npt.NDArray[np.float32], columns: tuple[float, float]) -> Patch:
    """The network input around a character's CTC column, ``PATCH_WIDTH`` + 2 ``SHIFT``
    wide (padded with the input's edge)."""
    centre = round((columns[0] + columns[1]) / 2 * INPUT_WIDTH)
    half = PATCH_WIDTH // 2 + SHIFT
    padded = np.pad(prepared, ((0, 0), (half, half)), mode="edge")
    return np.ascontiguousarray(padded[:, centre : centre + 2 * half], np.float32)


def _correlation(patch: Patch, reference: Patch) -> float:
    """Best normalised correlation of the centre of ``reference`` with ``patch``
    shifted by up to ``SHIFT`` px."""
    core = _normalised(reference[:, SHIFT : SHIFT + PATCH_WIDTH])
    best = -1.0
    for shift in range(2 * SHIFT + 1):
        window = _normalised(patch[:, shift : shift + PATCH_WIDTH])
        best = max(best, float((core * window).sum()))
    return best


def _normalised(values: Patch) -> Patch:
    centred = values - values.mean()
    return np.asarray(centred / (float(np.linalg.norm(centred)) + 1e-6), np.float32)


def _reading(
    text: str, guess: LineGuess, confidences: list[float], crop: Image, quad: Quad
) -> Reading:
    height, width = crop.shape[:2]
    stretch = width / max(1e-6, content_width(crop))
    boxes: list[DigitBox] = []
    for char, confidence, (a, b) in zip(guess.text, confidences, guess.char_columns, strict=True):
        if char == ".":
            if boxes:
                boxes[-1] = replace(boxes[-1], point_after=True)
            continue
        x0 = round(a * stretch)
        boxes.append(DigitBox(x0, 0, max(1, round(b * stretch) - x0), height, char, confidence))
    return Reading(
        status="ok",
        value=float(text),
        text=text,
        confidence=min(confidences),
        digit_confidences=tuple(box.confidence for box in boxes),
        quad=quad,
        digits=tuple(boxes),
        engine=ENGINE,
    )
