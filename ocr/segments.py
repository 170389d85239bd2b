"""Seven-segment geometry, sampling and the pattern table.

Segments are named a (top), b (upper right), c (lower right), d (bottom),
e (lower left), f (upper left), g (middle), in that order everywhere.
"""

from __future__ import annotations

from ocr.ink import FloatImage

SEGMENT_NAMES = "abcdefg"


def _pattern(names: str) -> tuple[bool, ...]:
    return tuple(name in names for name in SEGMENT_NAMES)


PATTERNS: dict[tuple[bool, ...], str] = {
    _pattern("abcdef"): "0",
    _pattern("bc"): "1",
    _pattern("ef"): "1",  # a "1" drawn on the left segments
    _pattern("abdeg"): "2",
    _pattern("abcdg"): "3",
    _pattern("bcfg"): "4",
    _pattern("acdfg"): "5",
    _pattern("acdefg"): "6",
    _pattern("cdefg"): "6",  # 6 without its tail
    _pattern("abc"): "7",
    _pattern("abcf"): "7",  # 7 with the upper-left segment
    _pattern("abcdefg"): "8",
    _pattern("abcdfg"): "9",
    _pattern("abcfg"): "9",  # 9 without its tail
    _pattern(""): " ",
}
"""Every lit-segment pattern a digit may show, with its meaning (" " = blank)."""

# (x0, x1, y0, y1) as fractions of the digit box; vertical segments are sampled as
# the strongest column, horizontal ones as the strongest row, of their window.
_WINDOWS: dict[str, tuple[float, float, float, float]] = {
    "a": (0.25, 0.75, 0.0, 0.24),
    "b": (0.62, 1.0, 0.12, 0.42),
    "c": (0.62, 1.0, 0.58, 0.88),
    "d": (0.25, 0.75, 0.76, 1.0),
    "e": (0.0, 0.38, 0.58, 0.88),
    "f": (0.0, 0.38, 0.12, 0.42),
    "g": (0.25, 0.75, 0.38, 0.62),
}
_VERTICAL = frozenset("bcef")


def sample_segments(ink: FloatImage, x0: int, x1: int, y0: int, y1: int) -> tuple[float, ...]:
    """Strength of each of the seven segments of the digit in box [x0,x1) × [y0,y1)."""
    width, height = x1 - x0, y1 - y0
    values: list[float] = []
    for name in SEGMENT_NAMES:
        fx0, fx1, fy0, fy1 = _WINDOWS[name]
        ax0 = x0 + round(fx0 * width)
        ax1 = max(ax0 + 1, x0 + round(fx1 * width))
        ay0 = y0 + round(fy0 * height)
        ay1 = max(ay0 + 1, y0 + round(fy1 * height))
        window = ink[max(0, ay0) : max(1, ay1), max(0, ax0) : max(1, ax1)]
        if window.size == 0:
            values.append(0.0)
            continue
        profile = window.mean(axis=0) if name in _VERTICAL else window.mean(axis=1)
        values.append(float(profile.max()))
    return tuple(values)


def decode(lit: tuple[bool, ...]) -> str | None:
    """The character a lit-segment pattern shows, or None when it is no digit."""
    return PATTERNS.get(lit)


def pattern_of(char: str) -> tuple[bool, ...]:
    """The canonical lit-segment pattern of a digit (for tests and drawings)."""
    for lit, shown in PATTERNS.items():
        if shown == char:
            return lit
    raise ValueError(f"no pattern for {char!r}")
