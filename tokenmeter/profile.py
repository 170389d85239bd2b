"""A meter's profile: what one fixed camera always sees of one display.

The display quad in the photo, how many digits and decimals the display shows,
whether the flash is used, and a bounded set of reference crops (the rectified
line, as PNG) with their confirmed values. It is stored with the meter
(``Store.get_profile`` / ``put_profile``) and, for measuring outside the service,
kept in a folder (``profile.json`` and one PNG per reference).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args

from ocr.reading import Quad
from tokenmeter.domain import new_id, utcnow
from tokenmeter.store.records import parse_ts, ts_text

ReferenceSource = Literal["enrol", "correction", "learned"]
"""Where a reference's value came from: the owner at enrolment, the owner correcting
a reading, or a reading the service trusted."""
SOURCES: tuple[ReferenceSource, ...] = get_args(ReferenceSource)
OWNER_SOURCES = frozenset({"enrol", "correction"})

MAX_REFERENCES = 12
"""References kept per meter; learned ones make room first, then the oldest."""
MAX_DECIMALS = 3
MAX_DIGITS = 10
MIN_QUAD_AREA = 64.0
"""Least area (px²) of a display quad: a smaller one holds no readable line."""
PROFILE_FILE = "profile.json"
VALUE = re.compile(r"^\d{1,10}(\.\d{1,3})?$")


class ProfileError(ValueError):
    """A profile, quad or value that cannot be used; ``str()`` says why in English."""


@dataclass(frozen=True)
class Reference:
    """One confirmed reading of the display: the line crop and the value it shows."""

    id: str
    text: str  # the confirmed value as displayed, e.g. "123.45"
    png: bytes  # the rectified line crop the value was read from
    source: ReferenceSource
    ts: datetime

    @property
    def decimals(self) -> int:
        return decimals_of(self.text)


@dataclass(frozen=True)
class MeterProfile:
    """A meter's display as its camera sees it. Every field may be unknown."""

    quad: Quad | None = None  # display corners in the photo: TL, TR, BR, BL
    digits: int | None = None  # digit positions the display shows
    decimals: int | None = None  # digits after the point
    flash: bool = True  # photograph with the flash LED on
    references: tuple[Reference, ...] = field(default_factory=tuple)
    updated: datetime | None = None

    def with_reference(self, reference: Reference) -> MeterProfile:
        """This profile with ``reference`` added, keeping at most ``MAX_REFERENCES``:
        when full, the oldest learned reference goes first, then the oldest of all."""
        kept = [r for r in self.references if r.id != reference.id] + [reference]
        while len(kept) > MAX_REFERENCES:
            learned = [r for r in kept if r.source == "learned" and r is not reference]
            pool = learned or [r for r in kept if r is not reference]
            kept.remove(min(pool, key=lambda r: r.ts))
        return replace(self, references=tuple(sorted(kept, key=lambda r: (r.ts, r.id))))


def effective_profile(
    stored: MeterProfile | None, configured: MeterProfile | None
) -> MeterProfile | None:
    """The profile a meter is read with: the stored one wins; what it leaves unknown
    (quad, digits, decimals) comes from the ``[[meters]]`` keys."""
    if stored is None or configured is None:
        return stored or configured
    return replace(
        stored,
        quad=stored.quad or configured.quad,
        digits=stored.digits if stored.digits is not None else configured.digits,
        decimals=stored.decimals if stored.decimals is not None else configured.decimals,
    )


def flash_of(profile: MeterProfile | None) -> bool:
    """Whether the meter is photographed with the flash LED on: its profile's
    setting; on for a meter without a profile."""
    return profile.flash if profile is not None else True


def decimals_of(text: str) -> int:
    """Digits after the point of a displayed number ("123.45" → 2, "1234" → 0)."""
    return len(text.partition(".")[2])


def parse_value(text: str) -> str:
    """A value typed by the owner as the display shows it, normalised ("0123,45" →
    "123.45"); a comma is the Indonesian decimal separator."""
    clean = text.strip().replace(",", ".")
    if not VALUE.match(clean):
        raise ProfileError(f"not a meter value: {text!r}")
    whole, point, fraction = clean.partition(".")
    return (whole.lstrip("0") or "0") + point + fraction


def parse_quad(value: str | Sequence[float]) -> Quad:
    """Four corners from ``"x1,y1,...,x4,y4"`` or 8 numbers (TL, TR, BR, BL).

    Refused: not 8 finite numbers, a negative coordinate, corners that cross (not
    clockwise and convex), or an area under ``MIN_QUAD_AREA``."""
    try:
        parts = value.split(",") if isinstance(value, str) else list(value)
        numbers = [float(part) for part in parts]
    except (TypeError, ValueError) as err:
        raise ProfileError("expected 8 numbers: x1,y1,x2,y2,x3,y3,x4,y4") from err
    if len(numbers) != 8 or not all(math.isfinite(n) for n in numbers):
        raise ProfileError("expected 8 numbers: x1,y1,x2,y2,x3,y3,x4,y4")
    if min(numbers) < 0:
        raise ProfileError("a corner lies outside the photo (negative coordinate)")
    points = [(numbers[i], numbers[i + 1]) for i in range(0, 8, 2)]
    turns = [_cross(points[i], points[(i + 1) % 4], points[(i + 2) % 4]) for i in range(4)]
    if not all(t > 0 for t in turns):
        raise ProfileError("the corners must go top-left, top-right, bottom-right, bottom-left")
    if quad_area(points) < MIN_QUAD_AREA:
        raise ProfileError("the four corners enclose (almost) no area")
    tl, tr, br, bl = points
    return (tl, tr, br, bl)


def quad_fits(quad: Quad, width: int, height: int) -> bool:
    """True when every corner lies inside a photo of ``width`` × ``height``."""
    return all(0 <= x <= width - 1 and 0 <= y <= height - 1 for x, y in quad)


def _cross(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float]) -> float:
    """z of (b - a) × (c - b): positive for a clockwise turn in image coordinates."""
    return (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])


def quad_area(points: Sequence[tuple[float, float]]) -> float:
    """Area (px²) enclosed by four corners in order."""
    total = sum(
        points[i][0] * points[(i + 1) % 4][1] - points[(i + 1) % 4][0] * points[i][1]
        for i in range(4)
    )
    return abs(total) / 2


def new_reference(text: str, png: bytes, source: ReferenceSource) -> Reference:
    """A reference made now, with a fresh time-ordered id."""
    return Reference(new_id("ref-"), parse_value(text), png, source, utcnow())


# -- the dict form (the store's layout) ---------------------------------------------------
def profile_to_dict(profile: MeterProfile) -> dict[str, Any]:
    """``/meters/{id}/profile``: references keyed by id, PNGs as base64 text."""
    return {
        **_fields_to_dict(profile),
        "references": {
            r.id: {**_reference_fields(r), "png": base64.b64encode(r.png).decode("ascii")}
            for r in profile.references
        },
    }


def profile_from_dict(data: Mapping[str, Any]) -> MeterProfile:
    """Inverse of ``profile_to_dict``; raise ``ProfileError`` when malformed."""
    refs = data.get("references") or {}
    if not isinstance(refs, Mapping):
        raise ProfileError("profile references is not an object")
    try:
        references = [
            _reference_from_dict(str(ref_id), item, base64.b64decode(str(item["png"])))
            for ref_id, item in refs.items()
        ]
    except (KeyError, TypeError, ValueError) as err:
        raise ProfileError(f"malformed profile reference: {err}") from err
    return _fields_from_dict(data, references)


def _fields_to_dict(profile: MeterProfile) -> dict[str, Any]:
    return {
        "quad": [c for point in profile.quad for c in point] if profile.quad else None,
        "digits": profile.digits,
        "decimals": profile.decimals,
        "flash": profile.flash,
        "updated": ts_text(profile.updated) if profile.updated else None,
    }


def _fields_from_dict(data: Mapping[str, Any], references: list[Reference]) -> MeterProfile:
    try:
        quad = parse_quad(data["quad"]) if data.get("quad") else None
        digits = _bounded_int(data.get("digits"), 1, MAX_DIGITS)
        decimals = _bounded_int(data.get("decimals"), 0, MAX_DECIMALS)
        updated = parse_ts(str(data["updated"])) if data.get("updated") else None
    except (TypeError, ValueError) as err:
        raise ProfileError(f"malformed profile: {err}") from err
    flash = data.get("flash", True)
    if not isinstance(flash, bool):
        raise ProfileError(f"profile flash is not true or false: {flash!r}")
    ordered = tuple(sorted(references, key=lambda r: (r.ts, r.id)))
    return MeterProfile(quad, digits, decimals, flash, ordered, updated)


def _bounded_int(value: Any, low: int, high: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProfileError(f"expected a whole number {low}-{high}, got {value!r}")
    return value


def _reference_fields(reference: Reference) -> dict[str, Any]:
    return {"ts": ts_text(reference.ts), "text": reference.text, "source": reference.source}


def _reference_from_dict(ref_id: str, item: Mapping[str, Any], png: bytes) -> Reference:
    source = str(item.get("source", ""))
    if source not in SOURCES:
        raise ProfileError(f"unknown reference source {source!r}")
    text = parse_value(str(item["text"]))
    return Reference(ref_id, text, png, source, parse_ts(str(item["ts"])))


# -- the folder form (tokenmeter enrol / read --profile) ------------------------------------
def load_profile_dir(folder: Path) -> MeterProfile:
    """The profile in ``folder`` (``profile.json`` + PNGs); an empty profile when the
    folder or its ``profile.json`` does not exist yet."""
    path = folder / PROFILE_FILE
    if not path.is_file():
        return MeterProfile()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ProfileError(f"{path}: not a readable profile ({err})") from err
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: not a profile object")
    refs = data.get("references") or {}
    if not isinstance(refs, dict):
        raise ProfileError(f"{path}: references is not an object")
    references = []
    for ref_id, item in refs.items():
        png_path = folder / f"{ref_id}.png"
        try:
            references.append(_reference_from_dict(str(ref_id), item, png_path.read_bytes()))
        except OSError as err:
            raise ProfileError(f"{png_path}: missing reference crop") from err
        except (KeyError, TypeError, ValueError) as err:
            raise ProfileError(f"{path}: malformed reference {ref_id}: {err}") from err
    return _fields_from_dict(data, references)


def save_profile_dir(folder: Path, profile: MeterProfile) -> None:
    """Write ``profile`` to ``folder``: the PNGs first, then ``profile.json`` (replaced
    whole), then the PNGs of references no longer kept are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    for reference in profile.references:
        (folder / f"{reference.id}.png").write_bytes(reference.png)
    data = {
        **_fields_to_dict(profile),
        "references": {r.id: _reference_fields(r) for r in profile.references},
    }
    temporary = folder / f".{PROFILE_FILE}.tmp"
    temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, folder / PROFILE_FILE)
    kept = {f"{r.id}.png" for r in profile.references}
    for stale in folder.glob("ref-*.png"):
        if stale.name not in kept:
            stale.unlink()
