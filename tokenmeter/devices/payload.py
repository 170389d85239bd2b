"""JSON payloads from MQTT, which anyone on the broker can send: parsed only when small.

The devices send flat objects of a few hundred bytes. Anything far larger, nested
deeper or holding a number longer than any field needs is refused *before*
``json.loads`` could raise ``RecursionError`` or ``ValueError`` (Python refuses to
convert integers of more than 4,300 digits) on paho's thread. ``PayloadRefused``
says why in words that never quote the payload, which may hold a token.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_PAYLOAD_BYTES = 16 * 1024
"""Largest MQTT payload parsed; a keypad result or status is well under 1 KiB."""

MAX_JSON_DEPTH = 8
"""Deepest nesting of arrays and objects accepted; device payloads nest at most 2."""

MAX_NUMBER_DIGITS = 32
"""Longest integer accepted; counts and timestamps have far fewer digits."""

_SIGNIFICANT = re.compile(r'[\[\]{}"\\]')


class PayloadRefused(ValueError):
    """A payload that is not a small, shallow JSON object; the message says why."""


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` in JSON text (brackets in strings ignored).

    One pass over the characters that matter, so its time grows linearly whatever
    the text holds."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # index of the character a backslash escapes
    for match in _SIGNIFICANT.finditer(text):
        char, at = match.group(), match.start()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise PayloadRefused(f"a number longer than {MAX_NUMBER_DIGITS} digits")
    return int(digits)


def parse_object(raw: bytes | bytearray) -> dict[str, Any]:
    """The JSON object in ``raw`` (empty → ``{}``), or ``PayloadRefused``."""
    if not raw:
        return {}
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadRefused(f"{len(raw)} bytes, more than {MAX_PAYLOAD_BYTES}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRefused("not UTF-8 text") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise PayloadRefused(f"nested deeper than {MAX_JSON_DEPTH}")
    try:
        value = json.loads(text, parse_int=_bounded_int)
    except PayloadRefused:
        raise
    except (ValueError, RecursionError):
        raise PayloadRefused("not JSON") from None
    if not isinstance(value, dict):
        raise PayloadRefused("not a JSON object")
    return value
