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
    _adapted,
    line_crop,
    read_with_profile,
)
from ocr.reader import VIEWS_DISAGREE, read_line_image
from ocr.reading import Quad
from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.sim import RenderedPhoto


def _enrolled(style_seed: int, count: int) -> tuple[list[RenderedPhoto], Quad, ReferencePatches]:
    photos = fixed_camera_photos(style_seed, count)
    first = ocr.read_display(photos[0].image)
    assert first.status == "ok" and first.text == photos[0].text and first.quad
    crop = line_crop(photos[0].image, first.quad)
    return photos, first.quad, ReferencePatches.build([LineReference(crop, photos[0].text)])


def test_references_confirm_an_ambiguous_character() -> None:
    """A photo the gate refuses as ambiguous is read when the enrolled crop confirms it."""
    photos, quad, references = _enrolled(43, 3)
    photo = photos[2]
    gate = read_line_image(line_crop(photo.image, quad), quad)
    assert gate.status == "unreadable" and gate.reason == "a character is ambiguous"
    reading = read_with_profile(photo.image, quad, decimals=1, references=references)
    assert (reading.status, reading.text, reading.engine) == ("ok", photo.text, ENGINE)
    assert reading.confidence >= MIN_MATCH


def test_unknown_shape_stays_refused() -> None:
    """An ambiguous character the references do not resemble is still refused."""
    photos, quad, references = _enrolled(52, 3)
    reading = read_with_profile(photos[2].image, quad, decimals=1, references=references)
    assert (reading.status, reading.reason) == ("unreadable", NOT_CONFIRMED)


def test_no_decimals_no_adaptation() -> None:
    """Without the display's decimals a refused reading is not adapted."""
    photos, quad, references = _enrolled(43, 3)
    reading = read_with_profile(photos[2].image, quad, references=references)
    assert (reading.status, reading.reason) == ("unreadable", "a character is ambiguous")
    adapted = read_with_profile(photos[2].image, quad, decimals=1, references=references)
    assert (adapted.status, adapted.text, adapted.engine) == ("ok", photos[2].text, ENGINE)


def test_the_line_is_tracked_when_the_camera_shifted() -> None:
    """A photo whose line the enrolled quad cuts badly (the camera shifted a little) is
    read in the digit line tracked near the quad, by the gate alone."""
    photos, quad, _ = _enrolled(24, 7)
    photo = photos[6]
    in_quad = read_with_profile(photo.image, quad, decimals=1, references=None)
    assert in_quad.status == "ok" and in_quad.text == photo.text
    assert in_quad.quad != quad and in_quad.engine == "line-model"
    gate = read_line_image(line_crop(photo.image, quad), quad)
    assert gate.status == "unreadable"


def test_a_point_the_shifted_quad_leaves_out_is_found_across() -> None:
    """A thin quad the camera's shift leaves the decimal point below: the gate reads
    2256 (another number of decimals, refused); the line tracked in the quad grown
    across it reads 225.6."""
    photos = fixed_camera_photos(5163, 9, start=None)
    quad = ocr.read_display(photos[0].image).quad
    assert quad is not None
    photo = photos[8]
    assert read_with_profile(photo.image, quad, decimals=None, digits=None).text == "2256"
    reading = read_with_profile(photo.image, quad, decimals=1)
    assert (reading.status, reading.text, photo.text) == ("ok", "225.6", "225.6")
    assert reading.quad != quad


def test_a_quad_over_part_of_the_line_never_reads_the_part() -> None:
    """A quad holding only the first digits of the line (the camera turned) gives the
    whole line's value, read in the tracked quad, never the part it holds."""
    photos, quad, _ = _enrolled(4, 2)
    tl, tr, br, bl = quad
    for share in (0.4, 0.6):
        top = (tl[0] + (tr[0] - tl[0]) * share, tl[1] + (tr[1] - tl[1]) * share)
        bottom = (bl[0] + (br[0] - bl[0]) * share, bl[1] + (br[1] - bl[1]) * share)
        part: Quad = (tl, top, bottom, bl)
        reading = read_with_profile(photos[1].image, part, decimals=1)
        assert (reading.status, reading.text) == ("ok", photos[1].text)
        assert reading.quad != part


def test_disagreeing_views_are_not_settled_by_the_first_view_alone() -> None:
    """The gate refuses a line whose views disagree (94.04 in one, the display shows
    94.84): every digit of the network's guess must then be like the references, not
    only those it is unsure of; the wrong guess is refused, and the whole profile
    reading (the tracked line) gives the right value."""
    photos = fixed_camera_photos(5125, 4, start=None)
    quad = ocr.read_display(photos[0].image).quad
    assert quad is not None
    crops = [LineReference(line_crop(p.image, quad), p.text) for p in photos[:2]]
    references = ReferencePatches.build(crops)
    crop = line_crop(photos[3].image, quad)
    gate = read_line_image(crop, quad)
    assert (gate.status, gate.reason) == ("unreadable", VIEWS_DISAGREE)
    assert _adapted(crop, quad, gate, 2, None, references).status == "unreadable"
    reading = read_with_profile(photos[3].image, quad, decimals=2, references=references)
    assert (reading.status, reading.text) == ("ok", photos[3].text)


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
    crop = line_crop(photos[0].image, quad)
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
