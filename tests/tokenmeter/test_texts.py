"""Tests for tokenmeter.texts."""

from __future__ import annotations

from tokenmeter.errors import CameraUnavailable, InvalidSchedule, InvalidToken, UnknownMeter
from tokenmeter.texts import error_sentence, format_kwh, format_number


def test_format_kwh_uses_indonesian_decimal_comma() -> None:
    """Indonesian uses a decimal comma and dot thousands; English the reverse."""
    assert format_kwh(123.456, "id") == "123,46"
    assert format_kwh(1234.5, "id") == "1.234,50"
    assert format_kwh(1234.5, "en") == "1,234.50"
    assert format_kwh(None) == "-"


def test_error_sentences_are_plain_and_localised() -> None:
    """Domain errors become one sentence in the chosen language."""
    assert "Kamera" in error_sentence(CameraUnavailable("timeout"))
    assert "camera" in error_sentence(CameraUnavailable("timeout"), "en")
    assert "19 digit" in error_sentence(InvalidToken("length", count=19))
    assert "25:00" in error_sentence(InvalidSchedule("bad", time="25:00"))
    assert "dapur" in error_sentence(UnknownMeter("dapur", meter="dapur"))


def test_each_camera_failure_has_its_own_sentence() -> None:
    """Not reached, HTTP error (with its status), not a photo and too large read apart."""
    failures = [
        CameraUnavailable("timeout"),
        CameraUnavailable(reason="http_error", status=502),
        CameraUnavailable(reason="not_photo"),
        CameraUnavailable(reason="too_large"),
    ]
    for lang in ("id", "en"):
        sentences = [error_sentence(err, lang) for err in failures]
        assert len(set(sentences)) == 4
        assert "Wi-Fi" in sentences[0] and "HTTP 502" in sentences[1]
        assert all("{" not in sentence for sentence in sentences)


def test_error_sentence_without_params_does_not_crash() -> None:
    """A template whose parameter is missing still gives a sentence."""
    sentence = error_sentence(InvalidToken("length"), "en")
    assert sentence and "{" not in sentence


def test_format_number_groups_in_the_language() -> None:
    """Any number of decimals, with the language's separators."""
    assert format_number(0.123, 1, "id") == "0,1"
    assert format_number(0.123, 1, "en") == "0.1"
    assert format_number(12345.678, 0, "id") == "12.346"
