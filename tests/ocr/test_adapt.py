"""Reading with a profile: the quad, the decimals, and references confirming characters."""

from __future__ import annotations

import numpy as np

import ocr
from ocr.adapt import (
    ENGINE,
    MIN_MATCH,
    NOT_CONFIRMED,
    PATCH_WIDTH,
    SHIFT,
    TOO_MANY_DIGITS,
    WRONG_DECIMALS,
    LineReference,
    ReferencePatches,
    read_with_profile,
)
from ocr.locate import rectify
from ocr.reading import Quad
from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.sim import RenderedPhoto


def _enrolled(style_seed: int, count: int) -> tuple[list[RenderedPhoto], Quad, ReferencePatches]:
    photos = fixed_camera_photos(style_seed, count)
    first = ocr.read_display(photos[0].image)
    assert first.status == "ok" and first.text == photos[0].text and first.quad
    crop = rectify(photos[0].image, first.quad)
    return photos, first.quad, ReferencePatches.build([LineReference(crop, photos[0].text)])


def test_references_confirm_an_ambiguous_character() -> None:
    """A photo the gate refuses as ambiguous is read when the enrolled crop confirms it."""
    photos, quad, references = _enrolled(18, 7)
    photo = photos[6]
    gate = ocr.read_display(photo.image, roi=quad)
    assert gate.status == "unreadable" and gate.reason == "a character is ambiguous"
    reading = read_with_profile(photo.image, quad, decimals=2, references=references)
    assert (reading.status, reading.text, reading.engine) == ("ok", photo.text, ENGINE)
    assert reading.confidence >= MIN_MATCH


def test_unknown_shape_stays_refused() -> None:
    """An ambiguous character the references do not resemble is still refused."""
    photos, quad, references = _enrolled(3, 5)
    reading = read_with_profile(photos[4].image, quad, decimals=2, references=references)
    assert (reading.status, reading.reason) == ("unreadable", NOT_CONFIRMED)


def test_no_decimals_no_adaptation() -> None:
    """Without the display's decimals a refused reading is not adapted."""
    photos, quad, references = _enrolled(18, 7)
    reading = read_with_profile(photos[6].image, quad, references=references)
    assert (reading.status, reading.reason) == ("unreadable", "a character is ambiguous")


def test_wrong_decimals_and_digits_are_refused() -> None:
    """A sure reading with another number of decimals or too many digits is refused."""
    photos, quad, _ = _enrolled(4, 2)
    photo = photos[1]
    assert read_with_profile(photo.image, quad, decimals=1).text == photo.text
    assert read_with_profile(photo.image, quad, decimals=2).reason == WRONG_DECIMALS
    assert read_with_profile(photo.image, quad, digits=3).reason == TOO_MANY_DIGITS


def test_a_mislabelled_reference_gives_no_patches() -> None:
    """A reference whose crop the network reads as another value is not used."""
    photos, quad, _ = _enrolled(4, 1)
    crop = rectify(photos[0].image, quad)
    assert ReferencePatches.build([LineReference(crop, "151.0")]).chars == ()
    assert ReferencePatches.build([LineReference(crop, "150.0")]).chars


def test_confirms_needs_a_clear_margin() -> None:
    """A patch is confirmed only as the character it is clearly most like."""
    rng = np.random.default_rng(1)
    width = PATCH_WIDTH + 2 * SHIFT
    one, seven = (rng.normal(size=(32, width)).astype(np.float32) for _ in range(2))
    refs = ReferencePatches(("1", "7"), (one, seven), frozenset({5}))
    assert refs.confirms("1", one) is not None
    assert refs.confirms("7", one) is None
    assert refs.confirms("4", one) is None  # no reference of that character
    blend = (one + 0.98 * seven).astype(np.float32)
    assert refs.confirms("1", blend) is None  # as like a 7 as a 1


def test_confirms_needs_an_example_of_the_rival_character() -> None:
    """Between the network's guess and its runner-up, references must hold both: a "9"
    reference alone cannot tell a barred "4" from a "9"."""
    rng = np.random.default_rng(2)
    width = PATCH_WIDTH + 2 * SHIFT
    nine, one = (rng.normal(size=(32, width)).astype(np.float32) for _ in range(2))
    refs = ReferencePatches(("9", "1"), (nine, one), frozenset({5}))
    assert refs.confirms("9", nine, rival="1") is not None
    assert refs.confirms("9", nine, rival="4") is None
    assert refs.confirms("9", nine) is not None
