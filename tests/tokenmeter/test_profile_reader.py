"""Enrolment and reading with a profile, on photos of one rendered fixed camera."""

from __future__ import annotations

import pytest

from ocr.adapt import ENGINE
from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.profile import MeterProfile, Reference
from tokenmeter.profile_reader import (
    BOX_OUTSIDE,
    NO_DISPLAY,
    OTHER_DECIMALS,
    VALUE_MISMATCH,
    EnrolRefused,
    ProfileReader,
    enrol,
)
from tokenmeter.sim import render_negative


def test_enrol_then_read_with_references() -> None:
    """One enrolled photo sets quad, decimals, digits; a photo the gate alone refuses reads."""
    photos = fixed_camera_photos(43, 3)
    enrolled = enrol(MeterProfile(), photos[0].image, photos[0].text)
    profile = enrolled.profile
    assert (profile.decimals, len(profile.references)) == (1, 1)
    assert profile.digits is not None and profile.digits >= 4
    assert profile.references[0].source == "enrol" and profile.quad == enrolled.quad
    reading = ProfileReader(profile).read(photos[2].image)
    assert (reading.status, reading.text, reading.engine) == ("ok", photos[2].text, ENGINE)


def test_enrol_refusals() -> None:
    """A box outside the photo, a value the reader does not see, a photo without display,
    a value with other decimals than the profile's: each refused with its code."""
    photo = fixed_camera_photos(4, 1)[0]
    with pytest.raises(EnrolRefused) as caught:
        enrol(MeterProfile(), photo.image, "150.0", roi=((0, 0), (900, 0), (900, 50), (0, 50)))
    assert caught.value.code == BOX_OUTSIDE
    with pytest.raises(EnrolRefused) as caught:
        enrol(MeterProfile(), photo.image, "151.0")
    assert (caught.value.code, caught.value.detail) == (VALUE_MISMATCH, "150.0")
    with pytest.raises(EnrolRefused) as caught:
        enrol(MeterProfile(), render_negative("wall", seed=3), "150.0")
    assert caught.value.code == NO_DISPLAY
    with pytest.raises(EnrolRefused) as caught:
        enrol(MeterProfile(decimals=2), photo.image, "150.0")
    assert caught.value.code == OTHER_DECIMALS


def test_broken_reference_png_is_ignored() -> None:
    """A reference whose bytes are not a PNG is left out, not a crash."""
    photos = fixed_camera_photos(4, 2)
    profile = enrol(MeterProfile(), photos[0].image, photos[0].text).profile
    broken = Reference("ref-x", "1.0", b"not a png", "learned", profile.references[0].ts)
    reader = ProfileReader(profile.with_reference(broken))
    assert reader.read(photos[1].image).text == photos[1].text
