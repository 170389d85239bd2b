"""Camera setup (aiming): a snapshot, the display found in it, an overlay photo that
shows the owner the box and the reading, and the first reference once the owner
confirms the value (``tokenmeter setup-camera``, Telegram ``/atur``).

A photo too dark, out of focus, with the display cut off at its edge or without a
display gets one plain sentence per problem saying what to change
(``problem_sentence``), Indonesian or English.

The owner may move the box over the same photo (``moved_box``, ``CameraSetup.reframe``:
Telegram's arrow buttons): a step is ``MOVE_STEP`` of the photo's size, a grow or
shrink ``RESIZE_STEP`` about the box's centre, and the box always stays inside the
photo. A photo where no display was found starts from ``default_box``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal, get_args

import cv2
import numpy as np

import ocr
from ocr.aiming import Problem, draw_overlay, photo_problems
from ocr.reading import Image, Quad
from tokenmeter.profile import MIN_QUAD_AREA, flash_of, quad_area, quad_fits
from tokenmeter.profile_reader import BOX_OUTSIDE, Enrolled, EnrolRefused, read_in_quad
from tokenmeter.services.check import CheckService
from tokenmeter.texts import Lang

Move = Literal["left", "right", "up", "down", "grow", "shrink"]
MOVES: tuple[Move, ...] = get_args(Move)
MOVE_STEP = 0.03
"""A move shifts the box by this share of the photo's width (left, right) or height."""
RESIZE_STEP = 1.15
"""A grow scales the box by this factor about its centre; a shrink by its inverse."""
MIN_BOX_SIDE = 12.0
"""A shrink stops before a side of the box gets shorter than this (px)."""

_PROBLEMS: dict[Problem, dict[Lang, str]] = {
    "too_dark": {
        "id": "Foto terlalu gelap: nyalakan lampu kilat (flash) kamera atau tambah cahaya "
        "di depan meter.",
        "en": "The photo is too dark: turn the camera's flash on or add light in front of "
        "the meter.",
    },
    "out_of_focus": {
        "id": "Foto tidak tajam: putar lensa kamera sampai angka tajam, atau jauhkan kamera "
        "(sekitar 10-15 cm dari layar).",
        "en": "The photo is out of focus: turn the camera's lens until the digits are sharp, "
        "or move the camera back (about 10-15 cm from the display).",
    },
    "cut_off": {
        "id": "Layar terpotong di tepi foto: arahkan kamera agar seluruh layar ada di tengah "
        "foto, atau jauhkan kamera sedikit.",
        "en": "The display is cut off at the photo's edge: aim the camera so the whole "
        "display is in the middle of the photo, or move it back a little.",
    },
    "no_display": {
        "id": "Layar meter tidak ditemukan: arahkan kamera lurus ke layar meter, atau beri "
        "kotak layarnya.",
        "en": "No meter display found: aim the camera straight at the meter's display, or "
        "give the display's box.",
    },
}


_REFUSALS: dict[str, dict[Lang, str]] = {
    "box_outside": {
        "id": "Kotak di luar foto ({detail}): setiap sudut harus di dalam foto.",
        "en": "The box lies outside the photo ({detail}): every corner must be inside it.",
    },
    "no_display": {
        "id": "Tidak ada layar yang terbaca di foto. Arahkan kamera ke layar meter, atau "
        "beri kotak layarnya.",
        "en": "No readable display in the photo. Aim the camera at the meter's display, "
        "or give the display's box.",
    },
    "value_mismatch": {
        "id": "Nilai tidak cocok: pembaca melihat {detail} di foto, bukan {text}.",
        "en": "The value does not match: the reader sees {detail} in the photo, not {text}.",
    },
    "other_decimals": {
        "id": "Layar ini menampilkan {detail} angka desimal; {text} tidak.",
        "en": "This display shows {detail} decimals; {text} does not.",
    },
    "no_photo": {
        "id": "Foto pembacaan itu sudah tidak disimpan.",
        "en": "That reading's photo is no longer kept.",
    },
}


def refusal_sentence(err: EnrolRefused, text: str, lang: Lang) -> str:
    """Why a photo did not become a reference, in one sentence."""
    words = _REFUSALS.get(err.code, _REFUSALS["no_display"])[lang]
    return words.format(detail=err.detail or "?", text=text)


def problem_sentence(problem: Problem, lang: Lang) -> str:
    """What the owner should change, in one sentence."""
    return _PROBLEMS[problem][lang]


@dataclass(frozen=True)
class SetupShot:
    """One setup snapshot and what was found in it."""

    meter_id: str
    image: Image
    quad: Quad | None  # the display's box: the owner's, else found
    reading: ocr.Reading
    problems: tuple[Problem, ...]
    overlay_png: bytes  # the photo with the box and the reading drawn
    seconds: float  # snapshot received → overlay ready
    flash: bool = True  # taken with the flash LED on; stored in the profile on enrolment

    @property
    def text(self) -> str:
        """The reading's text, "" when unread."""
        return self.reading.text if self.reading.status == "ok" else ""


class CameraSetup:
    """Aims a meter's camera and enrols its first reference."""

    def __init__(self, checks: CheckService) -> None:
        self.checks = checks

    async def take(
        self, meter_id: str, roi: Quad | None = None, *, flash: bool | None = None
    ) -> SetupShot:
        """Photograph ``meter_id`` and find its display (inside ``roi`` when given),
        with the flash as ``flash`` says (default: as the meter's profile says).

        Raise ``UnknownMeter``, ``CameraUnavailable``, or ``EnrolRefused``
        (``box_outside``) when ``roi`` does not fit the photo."""
        meter = await self.checks.current_meter(meter_id)
        if flash is None:
            flash = flash_of(await asyncio.to_thread(self.checks.profiles.effective, meter.id))
        snapshot = await self.checks.camera.snapshot(meter, flash=flash)
        return await asyncio.to_thread(analyse, meter.id, snapshot.image, roi, flash=flash)

    async def reframe(self, shot: SetupShot, quad: Quad) -> SetupShot:
        """The same photo read inside ``quad`` (the owner's box), with a new overlay."""
        return await asyncio.to_thread(analyse, shot.meter_id, shot.image, quad, flash=shot.flash)

    async def confirm(self, shot: SetupShot, value: str | None = None) -> Enrolled:
        """Enrol the shot's photo as showing ``value`` (default: what was read).

        Raise ``EnrolRefused`` (no display, a value the photo does not show, ...) or
        ``ProfileError`` (not a meter value)."""
        text = value if value is not None else shot.text
        if not text:
            raise EnrolRefused("no_display", shot.reading.reason)
        profiles = self.checks.profiles
        return await asyncio.to_thread(
            profiles.enrol, shot.meter_id, shot.image, text, roi=shot.quad, flash=shot.flash
        )


def analyse(
    meter_id: str, image: Image, roi: Quad | None = None, *, flash: bool = True
) -> SetupShot:
    """Find and read the display, judge the photo, draw the overlay. Blocking."""
    started = time.perf_counter()
    height, width = image.shape[:2]
    if roi is not None and not quad_fits(roi, width, height):
        raise EnrolRefused(BOX_OUTSIDE, f"{width}x{height}")
    # a given box is read as enrolment will read it, so "Benar" keeps what is shown
    reading = ocr.read_display(image) if roi is None else read_in_quad(image, roi)
    quad = roi or reading.quad
    problems = tuple(photo_problems(image, quad))
    label = reading.text if reading.status == "ok" else "?"
    overlay = draw_overlay(image, quad, label, ok=reading.status == "ok" and not problems)
    ok, png = cv2.imencode(".png", overlay)
    if not ok:  # pragma: no cover - a uint8 image always encodes
        raise ValueError("could not encode the overlay")
    return SetupShot(
        meter_id,
        image,
        quad,
        reading,
        problems,
        bytes(png.tobytes()),
        time.perf_counter() - started,
        flash,
    )


def default_box(width: int, height: int) -> Quad:
    """A box in the middle of the photo, half its width and a fifth of its height:
    where the owner starts moving from when no display was found."""
    x0, x1 = 0.25 * width, 0.75 * width
    y0, y1 = 0.4 * height, 0.6 * height
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


def moved_box(quad: Quad, move: Move, width: int, height: int) -> Quad:
    """``quad`` shifted or resized by one step, kept inside a ``width`` × ``height``
    photo; a shrink that would leave a side under ``MIN_BOX_SIDE`` (or the box under
    ``MIN_QUAD_AREA``) leaves it as it is."""
    points = [(float(x), float(y)) for x, y in quad]
    if move in ("grow", "shrink"):
        factor = RESIZE_STEP if move == "grow" else 1 / RESIZE_STEP
        cx = sum(x for x, _ in points) / 4
        cy = sum(y for _, y in points) / 4
        scaled = [(cx + (x - cx) * factor, cy + (y - cy) * factor) for x, y in points]
        if move == "shrink" and (
            _shortest_side(scaled) < MIN_BOX_SIDE or quad_area(scaled) < MIN_QUAD_AREA
        ):
            return quad
        clipped = [
            (min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)) for x, y in scaled
        ]
        return _quad(clipped)
    dx = {"left": -1.0, "right": 1.0}.get(move, 0.0) * MOVE_STEP * width
    dy = {"up": -1.0, "down": 1.0}.get(move, 0.0) * MOVE_STEP * height
    # the whole box moves, at most to the photo's edge
    dx = min(max(dx, -min(x for x, _ in points)), width - 1.0 - max(x for x, _ in points))
    dy = min(max(dy, -min(y for _, y in points)), height - 1.0 - max(y for _, y in points))
    return _quad([(x + dx, y + dy) for x, y in points])


def _shortest_side(points: list[tuple[float, float]]) -> float:
    return min(
        float(
            np.hypot(points[i][0] - points[(i + 1) % 4][0], points[i][1] - points[(i + 1) % 4][1])
        )
        for i in range(4)
    )


def _quad(points: list[tuple[float, float]]) -> Quad:
    tl, tr, br, bl = (tuple(round(c, 1) for c in point) for point in points)
    return (tl, tr, br, bl)  # type: ignore[return-value]
