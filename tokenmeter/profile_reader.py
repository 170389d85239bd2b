"""Reading photos with a meter's profile, and adding references to it (enrolment).

``ProfileReader`` decodes a profile's reference crops once and reads each photo
inside the profile's quad (``ocr.adapt.read_with_profile``); without a quad it
searches the photo as usual and still enforces the profile's decimals.

``enrol`` adds one confirmed reading to a profile: the display is found (or taken
from the box the owner gives, or the profile's quad), the reader must see the value
the owner typed, and the rectified line becomes a reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

import ocr
from ocr.adapt import (
    ADAPTABLE,
    LineReference,
    ReferencePatches,
    fits_profile,
    line_crop,
    read_with_profile,
)
from ocr.line_model import read_line
from ocr.reader import displayed_text, read_line_image
from ocr.reading import Image, Quad, Reading
from tokenmeter.domain import utcnow
from tokenmeter.profile import (
    MeterProfile,
    ReferenceSource,
    decimals_of,
    new_reference,
    parse_value,
    quad_fits,
)


class EnrolRefused(Exception):
    """Enrolment refused; ``code`` names why, ``detail`` adds what was seen."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


BOX_OUTSIDE = "box_outside"  # a corner of --roi lies outside the photo
NO_DISPLAY = "no_display"  # nothing readable found (detail: the reader's reason)
VALUE_MISMATCH = "value_mismatch"  # the reader sees another value (detail: what it sees)
OTHER_DECIMALS = "other_decimals"  # the value's decimals differ from the profile's


class ProfileReader:
    """Reads photos of one display with its profile."""

    def __init__(self, profile: MeterProfile) -> None:
        self.profile = profile
        crops = [LineReference(_decode(r.png), r.text) for r in profile.references]
        self.references = ReferencePatches.build([c for c in crops if c.crop.size])

    def read(self, image: Image) -> Reading:
        """The reading of ``image`` with the profile (see the module docstring)."""
        profile = self.profile
        if profile.quad is None or not quad_fits(profile.quad, image.shape[1], image.shape[0]):
            return fits_profile(ocr.read_display(image), profile.decimals, profile.digits)
        return read_with_profile(
            image,
            profile.quad,
            decimals=profile.decimals,
            digits=profile.digits,
            references=self.references,
        )


@dataclass(frozen=True)
class Enrolled:
    """The profile after an enrolment, and what the reader saw."""

    profile: MeterProfile
    quad: Quad
    seen: str  # the reader's text for the photo ("" when only the raw guess matched)


def read_in_quad(image: Image, quad: Quad) -> Reading:
    """The reader's gate on the line inside ``quad``, cut as profiles cut it (what
    enrolment compares with the owner's value, and camera setup shows)."""
    return read_line_image(line_crop(image, quad), quad)


def enrol(
    profile: MeterProfile,
    image: Image,
    value: str,
    *,
    roi: Quad | None = None,
    source: ReferenceSource = "enrol",
) -> Enrolled:
    """``profile`` with the photo's line as a reference showing ``value``.

    The display is the box ``roi`` when given, else the profile's quad, else found
    in the photo. The value must be what the reader reads there, or, where the
    reader is unsure (an ambiguous character, a doubtful point), what the network
    guesses: the owner confirms the guess. Raise ``EnrolRefused`` otherwise."""
    text = parse_value(value)
    height, width = image.shape[:2]
    if roi is not None and not quad_fits(roi, width, height):
        raise EnrolRefused(BOX_OUTSIDE, f"{width}x{height}")
    if profile.decimals is not None and decimals_of(text) != profile.decimals:
        raise EnrolRefused(OTHER_DECIMALS, str(profile.decimals))
    quad = roi or profile.quad
    if quad is not None and not quad_fits(quad, width, height):
        quad = None  # a profile's quad from another camera size: search instead
    if quad is None:
        found = ocr.read_display(image)
        if found.status != "ok" or found.quad is None:
            raise EnrolRefused(NO_DISPLAY, found.reason)
        quad = found.quad
    crop = line_crop(image, quad)  # as read_with_profile reads it
    reading = read_line_image(crop, quad)
    seen = reading.text if reading.status == "ok" else ""
    if reading.status != "ok":
        if reading.reason not in ADAPTABLE:
            raise EnrolRefused(NO_DISPLAY, reading.reason)
        guess = displayed_text(read_line(crop).text)
        if guess != text:
            raise EnrolRefused(VALUE_MISMATCH, guess)
    elif seen != text:
        raise EnrolRefused(VALUE_MISMATCH, seen)
    digits = sum(c.isdigit() for c in read_line(crop).text)
    updated = replace(
        profile,
        quad=quad,
        decimals=decimals_of(text),
        digits=max(digits, profile.digits or 0),
        updated=utcnow(),
    ).with_reference(new_reference(text, _encode(crop), source))
    return Enrolled(updated, quad, seen)


def _encode(crop: Image) -> bytes:
    ok, data = cv2.imencode(".png", crop)
    if not ok:  # pragma: no cover - a uint8 image always encodes
        raise ValueError("could not encode the reference crop")
    return bytes(data.tobytes())


def _decode(png: bytes) -> Image:
    """A reference crop; an empty image when the bytes are not a PNG."""
    try:
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR) if png else None
    except cv2.error:
        decoded = None
    return np.zeros((0, 0, 3), np.uint8) if decoded is None else np.asarray(decoded, np.uint8)


def shown_on_crop(png: bytes, value: str) -> str:
    """The characters a reference crop displays for its confirmed ``value`` (leading
    zeros included when lit): the network's first guess when it means ``value``,
    else "" (not known)."""
    crop = _decode(png)
    if crop.size == 0:
        return ""
    guess = read_line(crop).text
    return guess if displayed_text(guess) == value else ""


def kept_photo(path: str | Path) -> Image | None:
    """The kept photo at ``path``; None when gone or not an image."""
    if not path or not Path(path).is_file():
        return None
    decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if decoded is None else np.asarray(decoded, np.uint8)


def display_crop(photo: Path, profile: MeterProfile) -> bytes | None:
    """The display cut out of a kept photo as a PNG, as a reference is cut: at the
    profile's box, else where the reader finds the display; None when the photo
    is gone, cannot be decoded or shows no display."""
    image = kept_photo(photo)
    if image is None:
        return None
    height, width = image.shape[:2]
    quad = profile.quad
    if quad is None or not quad_fits(quad, width, height):
        quad = ocr.read_display(image).quad
    return None if quad is None else _encode(line_crop(image, quad))
