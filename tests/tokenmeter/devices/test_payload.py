"""Tests for tokenmeter.devices.payload."""

from __future__ import annotations

import time

import pytest

from tokenmeter.devices.payload import (
    MAX_JSON_DEPTH,
    MAX_NUMBER_DIGITS,
    MAX_PAYLOAD_BYTES,
    PayloadRefused,
    json_depth,
    parse_object,
)


def test_device_payloads_parse() -> None:
    """A keypad result, a status and an empty payload come back as objects."""
    assert parse_object(b'{"id":"c1","ok":true,"pressed":21}') == {
        "id": "c1",
        "ok": True,
        "pressed": 21,
    }
    assert parse_object(bytearray(b'{"online":false,"meta":{"v":[1,2]}}'))["online"] is False
    assert parse_object(b"") == {}


def test_depth_ignores_brackets_inside_strings() -> None:
    """Brackets in strings, escaped quotes included, do not count as nesting."""
    assert json_depth('{"a":[1,{"b":2}]}') == 3
    assert json_depth('{"a":"[[[[{{{{"}') == 1
    assert json_depth('{"a":"\\"[[[[","b":[1]}') == 2
    assert json_depth('{"a":"\\\\","b":[[1]]}') == 3


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "nested deeper"),
        (b"[" * 5000 + b"]" * 5000, "nested deeper"),
        (b'{"n":' + b"9" * (MAX_NUMBER_DIGITS + 1) + b"}", "longer than"),
        (b'{"n":-' + b"9" * 5000 + b"}", "longer than"),
        (b'{"pad":"' + b"a" * MAX_PAYLOAD_BYTES + b'"}', "more than"),
        (b"\xff\xfe", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1,2]", "not a JSON object"),
    ],
)
def test_refused_payloads_say_why(raw: bytes, reason: str) -> None:
    """Too deep, too long a number, too large, not text, not JSON, not an object."""
    with pytest.raises(PayloadRefused, match=reason):
        parse_object(raw)


def test_refusal_never_quotes_the_payload() -> None:
    """The reason holds no part of the payload (it may carry a token)."""
    token = "12345678901234567890"
    for raw in (f'{{"keys":"{token}",'.encode(), f'["{token}"]'.encode()):
        with pytest.raises(PayloadRefused) as caught:
            parse_object(raw)
        assert token not in str(caught.value)


def test_depth_check_is_linear_on_hostile_text() -> None:
    """Escaped quotes that never close a string do not make the scan quadratic."""
    text = '"' + '\\"' * (MAX_PAYLOAD_BYTES // 2)
    began = time.perf_counter()
    json_depth(text)
    assert time.perf_counter() - began < 0.5
