"""Tests for tokenmeter.errors."""

from __future__ import annotations

import pytest

from tokenmeter.errors import CameraUnavailable


@pytest.mark.parametrize(
    ("reason", "status", "stored"),
    [
        ("unreachable", 0, "camera_unavailable"),
        ("http_error", 500, "camera_http_500"),
        ("not_photo", 0, "camera_not_photo"),
        ("too_large", 0, "camera_too_large"),
    ],
)
def test_camera_reason_survives_the_reading(reason: str, status: int, stored: str) -> None:
    """A camera failure's reason (and HTTP status) is kept in a reading's error code."""
    err = CameraUnavailable("detail", reason=reason, status=status)
    assert err.reading_error == stored
    back = CameraUnavailable.from_reading_error(stored)
    assert (back.reason, back.status) == (reason, status)


@pytest.mark.parametrize("stored", ["", "unreadable", "camera_http_", "camera_http_9999", "x"])
def test_unknown_camera_codes_read_as_unreachable(stored: str) -> None:
    """Codes stored before reasons existed, or not a camera's, read as not reached."""
    assert CameraUnavailable.from_reading_error(stored).reason == "unreachable"
    assert CameraUnavailable(reason="bogus").reason == "unreachable"
