"""Seeded, deterministic photos of prepaid-meter LCDs (numpy + OpenCV).

``render_photo`` draws a whole meter somewhere in a photo, ``render_crop`` a photo
already cropped to the digits, ``render_negative`` frames with nothing to read.
The same inputs always give the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from tokenmeter.sim.render_lcd import (
    FloatImage,
    Slot,
    display_slots,
    draw_lcd,
    draw_meter,
    lcd_width,
)
from tokenmeter.sim.render_scene import add_switch_plates, degrade, draw_scene
from tokenmeter.sim.render_style import (
    LcdStyle,
    PhotoConditions,
    Quad,
    random_conditions,
    random_style,
)

Image = npt.NDArray[np.uint8]
Matrix = npt.NDArray[np.float64]
NegativeKind = Literal["dark", "blank_lcd", "wall"]


@dataclass(frozen=True)
class RenderedPhoto:
    """A rendered photo and the truth about it."""

    image: Image  # BGR uint8
    quad: Quad  # the LCD digit area in the image: TL, TR, BR, BL
    text: str  # the reading as the reader should report it ("123.45")
    style: LcdStyle
    conditions: PhotoConditions
    shown: str = ""  # what the display shows, leading zeros/blanks included
    lcd_quad: Quad | None = None  # the whole LCD window
    digit_quads: tuple[Quad, ...] = field(default_factory=tuple)  # each digit position

    @property
    def value(self) -> float:
        """The reading as a number."""
        return float(self.text)


def normal_text(text: str) -> str:
    """The reading as displayed without leading zeros: ``"0042.50"`` -> ``"42.50"``."""
    whole, point, fraction = text.strip().partition(".")
    whole = whole.strip().lstrip("0") or "0"
    return f"{whole}{point}{fraction}"


def format_value(value: float, style: LcdStyle) -> str:
    """A value as this meter would show it, with the style's number of decimals."""
    return f"{value:.{style.decimals}f}"


def render_photo(
    text: str,
    style: LcdStyle | None = None,
    *,
    seed: int,
    size: tuple[int, int] = (640, 480),
    conditions: PhotoConditions | None = None,
) -> RenderedPhoto:
    """A whole photo of a meter showing ``text`` (e.g. ``"123.45"``); size is (w, h)."""
    style_rng, photo_rng, texture_rng = _streams(seed)
    style = style or random_style(style_rng)
    conditions = conditions or random_conditions(photo_rng)
    slots = display_slots(text, style)
    digit_h = _digit_height_for(slots, style, conditions.lcd_width * size[0])
    lcd = draw_lcd(slots, style, digit_h)
    meter = draw_meter(lcd, style, digit_h)
    matrix = _place(meter.lcd_rect, meter.image.shape, conditions, size, photo_rng)
    scene = draw_scene(texture_rng, size)
    warped = np.asarray(
        cv2.warpPerspective(meter.image, matrix, size, flags=cv2.INTER_LINEAR), np.float32
    )
    alpha = np.asarray(
        cv2.warpPerspective(meter.alpha, matrix, size, flags=cv2.INTER_LINEAR), np.float32
    )
    np.subtract(warped, scene, out=warped)  # in place: scene + alpha * (meter - scene)
    np.multiply(warped, alpha[..., None], out=warped)
    photo = np.add(warped, scene, out=warped)
    lcd_quad = _project(matrix, meter.lcd_rect)
    digit_h_image = digit_h * _scale_of(matrix)
    image = degrade(photo, conditions, lcd_quad, digit_h_image, texture_rng)
    pad = digit_h * 0.12
    x0, y0, x1, y1 = meter.digit_area
    return RenderedPhoto(
        image=image,
        quad=_project(matrix, (x0 - pad, y0 - pad, x1 + pad, y1 + pad)),
        text=normal_text(text),
        style=style,
        conditions=conditions,
        shown=_shown(slots),
        lcd_quad=lcd_quad,
        digit_quads=tuple(_project(matrix, box) for box in meter.digit_boxes),
    )


def render_crop(
    text: str,
    style: LcdStyle | None = None,
    *,
    seed: int,
    conditions: PhotoConditions | None = None,
) -> RenderedPhoto:
    """A photo already cropped to the digits (like a configured-ROI capture)."""
    style_rng, photo_rng, texture_rng = _streams(seed)
    style = style or random_style(style_rng)
    conditions = conditions or random_conditions(photo_rng)
    slots = display_slots(text, style)
    digit_h = float(photo_rng.uniform(18, 80))
    lcd = draw_lcd(slots, style, digit_h)
    x0, y0, x1, y1 = lcd.digit_area
    margins = photo_rng.uniform(0.08, 0.4, size=4) * digit_h
    src = np.array(
        [
            [x0 - margins[0], y0 - margins[1]],
            [x1 + margins[2], y0 - margins[1]],
            [x1 + margins[2], y1 + margins[3]],
            [x0 - margins[0], y1 + margins[3]],
        ],
        np.float32,
    )
    out_w = round(src[1, 0] - src[0, 0])
    out_h = round(src[2, 1] - src[1, 1])
    dst = _rect_corners(0, 0, out_w, out_h)
    angle = math.radians(float(np.clip(conditions.rotation_deg, -3, 3)))
    jitter = min(conditions.perspective, 0.02) * out_w
    centre = dst.mean(axis=0)
    turned = _rotate(dst, angle, centre)
    turned += photo_rng.uniform(-jitter, jitter, size=turned.shape)
    for _ in range(20):  # shrink until the digits lie inside the crop
        matrix = cv2.getPerspectiveTransform(src, turned.astype(np.float32)).astype(np.float64)
        area = np.array(_project(matrix, lcd.digit_area))
        if area.min() >= 1 and (area.max(axis=0) <= [out_w - 1, out_h - 1]).all():
            break
        turned = centre + (turned - centre) * 0.97
    warped = cv2.warpPerspective(
        lcd.image,
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    lcd_box = (0.0, 0.0, float(lcd.image.shape[1]), float(lcd.image.shape[0]))
    image = degrade(warped, conditions, _project(matrix, lcd_box), digit_h, texture_rng)
    return RenderedPhoto(
        image=image,
        quad=_project(matrix, lcd.digit_area),
        text=normal_text(text),
        style=style,
        conditions=conditions,
        shown=_shown(slots),
        lcd_quad=None,
        digit_quads=tuple(_project(matrix, box) for box in lcd.digit_boxes),
    )


def render_negative(kind: NegativeKind, *, seed: int, size: tuple[int, int] = (640, 480)) -> Image:
    """A frame with nothing to read: a dark frame, a blank LCD, or just a wall."""
    style_rng, photo_rng, texture_rng = _streams(seed)
    if kind == "wall":
        scene = draw_scene(texture_rng, size)
        add_switch_plates(scene, texture_rng)
        conditions = random_conditions(photo_rng)
        return degrade(scene, conditions, None, 20.0, texture_rng)
    style = random_style(style_rng)
    if kind == "blank_lcd":
        style = replace(style, ghost=min(style.ghost, 0.05), positions=6)
        conditions = random_conditions(photo_rng)
        return _render_blank(style, conditions, seed=seed, size=size)
    conditions = random_conditions(photo_rng)
    dark = PhotoConditions(
        lcd_width=conditions.lcd_width,
        centre=conditions.centre,
        rotation_deg=conditions.rotation_deg,
        noise=float(photo_rng.uniform(2.0, 4.0)),
        jpeg_quality=int(photo_rng.integers(40, 80)),
        brightness=float(photo_rng.uniform(0.005, 0.015)),
    )
    return render_photo("123.45", style, seed=seed, size=size, conditions=dark).image


def _render_blank(
    style: LcdStyle, conditions: PhotoConditions, *, seed: int, size: tuple[int, int]
) -> Image:
    blank_style = replace(style, leading_zeros=False, lcd_label="", ghost_points=False)
    photo = render_photo(
        " " * style.positions, blank_style, seed=seed, size=size, conditions=conditions
    )
    return photo.image


def _streams(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    children = np.random.SeedSequence(seed).spawn(3)
    return (
        np.random.default_rng(children[0]),
        np.random.default_rng(children[1]),
        np.random.default_rng(children[2]),
    )


def _shown(slots: list[Slot]) -> str:
    return "".join(s.char + ("." if s.point_after else "") for s in slots)


def _digit_height_for(slots: list[Slot], style: LcdStyle, width: float) -> float:
    return max(8.0, 100.0 * width / lcd_width(slots, style, 100.0))


def _place(
    lcd_rect: tuple[float, float, float, float],
    plane_shape: tuple[int, ...],
    conditions: PhotoConditions,
    size: tuple[int, int],
    rng: np.random.Generator,
) -> Matrix:
    """Homography from the face-on meter plane into the photo."""
    height, width = plane_shape[:2]
    src = _rect_corners(0, 0, width, height)
    x0, y0, x1, y1 = lcd_rect
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    dst = _rotate(src, math.radians(conditions.rotation_deg), centre)
    jitter = conditions.perspective * (x1 - x0)
    dst = dst + rng.uniform(-jitter, jitter, size=dst.shape)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32)).astype(np.float64)
    lcd = np.array(_project(matrix, lcd_rect))
    lo, hi = lcd.min(axis=0), lcd.max(axis=0)
    room = np.array(size, np.float64) * 0.94
    scale = min(1.0, *(room / np.maximum(hi - lo, 1.0)))
    span = (hi - lo) * scale
    free = np.array(size, np.float64) - span
    target = free * 0.03 + (free * 0.94) * np.array(conditions.centre)
    shift = np.array(
        [[scale, 0, target[0] - lo[0] * scale], [0, scale, target[1] - lo[1] * scale], [0, 0, 1]]
    )
    placed: Matrix = shift @ matrix
    return placed


def _rect_corners(x0: float, y0: float, x1: float, y1: float) -> npt.NDArray[np.float32]:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _rotate(
    points: npt.NDArray[np.float32], angle: float, centre: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    c, s = math.cos(angle), math.sin(angle)
    rel = points - centre
    return np.stack([rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c], 1) + centre


def _project(matrix: Matrix, box: tuple[float, float, float, float]) -> Quad:
    x0, y0, x1, y1 = box
    corners = _rect_corners(x0, y0, x1, y1).reshape(-1, 1, 2).astype(np.float64)
    p = cv2.perspectiveTransform(corners, matrix).reshape(4, 2)
    tl, tr, br, bl = ((float(x), float(y)) for x, y in p)
    return (tl, tr, br, bl)


def _scale_of(matrix: Matrix) -> float:
    return float(math.sqrt(abs(np.linalg.det(matrix[:2, :2]))) / abs(matrix[2, 2]))


__all__ = [
    "FloatImage",
    "RenderedPhoto",
    "format_value",
    "normal_text",
    "render_crop",
    "render_negative",
    "render_photo",
]
