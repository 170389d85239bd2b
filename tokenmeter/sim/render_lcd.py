"""Drawing a seven-segment LCD and the meter body around it, flat and face-on.

Everything here works in "plane" pixels: the meter as seen straight on. ``render.py``
then places the plane in a photo with a perspective warp.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from tokenmeter.sim.render_style import BGR, LcdStyle, style_seed_text

FloatImage = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]

SEGMENTS = "abcdefg"
DIGIT_SEGMENTS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abdeg",
    "3": "abcdg",
    "4": "bcfg",
    "5": "acdfg",
    "6": "acdefg",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
    " ": "",
    "-": "g",
}
LABEL_SCALE = 0.02  # font scale of the LCD label / digit height
SHIFT = 4  # sub-pixel bits for cv2 drawing
SCALE = 1 << SHIFT


@dataclass(frozen=True)
class Slot:
    """One digit position as shown: its character and whether a point follows it."""

    char: str
    point_after: bool = False
    small: bool = False


@dataclass(frozen=True)
class LcdDrawing:
    """The LCD window drawn face-on, with where the digits are."""

    image: FloatImage  # (h, w, 3) float32 BGR 0..255
    digit_area: tuple[float, float, float, float]  # x0, y0, x1, y1
    digit_boxes: tuple[tuple[float, float, float, float], ...]  # per slot x0, y0, x1, y1


@dataclass(frozen=True)
class MeterDrawing:
    """The whole meter face-on: image, opacity, and where the LCD and digits are."""

    image: FloatImage
    alpha: FloatImage  # (h, w) 0..1, the body's outline
    lcd_rect: tuple[float, float, float, float]
    digit_area: tuple[float, float, float, float]
    digit_boxes: tuple[tuple[float, float, float, float], ...]


def segments_for(char: str, style: LcdStyle) -> str:
    """The lit segments of ``char`` in this style's 6/7/9 variants."""
    segments = DIGIT_SEGMENTS[char]
    if char == "6" and not style.six_tail:
        segments = segments.replace("a", "")
    if char == "9" and not style.nine_tail:
        segments = segments.replace("d", "")
    if char == "7" and style.seven_hook:
        segments += "f"
    return segments


def display_slots(text: str, style: LcdStyle) -> list[Slot]:
    """Lay ``text`` ("123.45", maybe with leading zeros) out on the display's positions."""
    digits = text.replace(".", "")
    if not digits or not all(c in DIGIT_SEGMENTS for c in digits) or text.count(".") > 1:
        raise ValueError(f"cannot show {text!r} on a seven-segment display")
    point_index = text.index(".") - 1 if "." in text else -1
    decimals = len(digits) - 1 - point_index if point_index >= 0 else 0
    slots = [
        Slot(char, point_after=(i == point_index), small=False) for i, char in enumerate(digits)
    ]
    if style.small_tenths and decimals == 1:
        slots[-1] = Slot(slots[-1].char, small=True)
    pad = max(0, style.positions - len(slots))
    filler = "0" if style.leading_zeros and digits.strip().isdigit() else " "
    return [Slot(filler) for _ in range(pad)] + slots


def lcd_width(slots: list[Slot], style: LcdStyle, digit_h: float) -> float:
    """Width of the LCD window for these slots at this digit height."""
    return _lcd_layout(slots, style, digit_h)[0]


def _label_over_tenths(slots: list[Slot], style: LcdStyle) -> bool:
    return style.label_over_tenths and bool(slots) and slots[-1].small


def _lcd_layout(slots: list[Slot], style: LcdStyle, digit_h: float) -> tuple[float, float]:
    spacing = style.spacing * digit_h
    slant = math.tan(math.radians(style.slant_deg))
    widths = [style.aspect * digit_h * (style.small_ratio if s.small else 1.0) for s in slots]
    gaps = style.tenths_gap * digit_h * sum(s.small for s in slots)
    digits_w = sum(widths) + spacing * (len(slots) - 1) + gaps + slant * digit_h
    label_w = 0.0
    if style.lcd_label and not _label_over_tenths(slots, style):
        label_scale = digit_h * LABEL_SCALE
        (tw, _), _ = cv2.getTextSize(style.lcd_label, cv2.FONT_HERSHEY_SIMPLEX, label_scale, 1)
        label_w = tw + spacing
    return digits_w + label_w + 2 * style.lcd_margin * digit_h, digits_w


def draw_lcd(slots: list[Slot], style: LcdStyle, digit_h: float) -> LcdDrawing:
    """Draw the LCD window (background, lit and ghost segments, label)."""
    stroke = max(1.0, style.stroke * digit_h)
    spacing = style.spacing * digit_h
    margin = style.lcd_margin * digit_h
    slant = math.tan(math.radians(style.slant_deg))
    widths = [style.aspect * digit_h * (style.small_ratio if s.small else 1.0) for s in slots]
    label_scale = digit_h * LABEL_SCALE
    full_w, digits_w = _lcd_layout(slots, style, digit_h)
    width = round(full_w)
    height = round(digit_h + 2 * margin)
    lit = np.zeros((height, width), np.uint8)
    ghost = np.zeros((height, width), np.uint8)
    fade = (  # fixed per drawing, like everything else the style draws
        np.random.default_rng(zlib.crc32(f"({style_seed_text(style)}, {slots!r})".encode()))
        if style.segment_fade > 0
        else None
    )
    base_y = margin + digit_h
    x = margin
    boxes: list[tuple[float, float, float, float]] = []
    for slot, w in zip(slots, widths, strict=True):
        if slot.small:
            x += style.tenths_gap * digit_h
        h = digit_h * (style.small_ratio if slot.small else 1.0)
        t = stroke * (style.small_ratio if slot.small else 1.0)
        lit_segments = segments_for(slot.char, style)
        for name in SEGMENTS:
            polygon = _segment_polygon(name, x, base_y - h, w, h, t, style)
            polygon[:, 0] += (base_y - polygon[:, 1]) * slant
            if name not in lit_segments:
                _fill(ghost, polygon)
            elif fade is not None:
                _fill(lit, polygon, 255 * (1 - style.segment_fade * float(fade.random())))
            else:
                _fill(lit, polygon)
        size = min(stroke * style.point_size, spacing * 0.6)
        point_x = x + w + max(spacing * style.point_place, size / 2 + 0.05 * spacing)
        if slot.point_after or style.ghost_points:
            centre_y = base_y - size / 2
            square = np.array(
                [
                    [point_x - size / 2, centre_y - size / 2],
                    [point_x + size / 2, centre_y - size / 2],
                    [point_x + size / 2, centre_y + size / 2],
                    [point_x - size / 2, centre_y + size / 2],
                ]
            )
            square[:, 0] += (base_y - square[:, 1]) * slant
            if slot.point_after:
                _fill(lit, square, 255 * style.point_ink)
            else:
                _fill(ghost, square)
        boxes.append((x, base_y - h, x + w + slant * h, base_y))
        x += w + spacing
    if style.hollow > 0:
        _hollow_out(lit, stroke, style.hollow)
    if style.lcd_label:
        org = (int(margin + digits_w + spacing * 0.6), int(base_y))
        if _label_over_tenths(slots, style):  # "kWh" above the small tenths digit
            org = (int(boxes[-1][0]), int(base_y - digit_h * (style.small_ratio + 0.1)))
        cv2.putText(
            lit,
            style.lcd_label,
            org,
            cv2.FONT_HERSHEY_SIMPLEX,
            label_scale,
            255,
            max(1, int(digit_h * 0.04)),
            cv2.LINE_AA,
        )
    _draw_indicators(lit, style, margin, digit_h, digits_w)
    alpha = lit.astype(np.float32) / np.float32(255)
    alpha += (1 - alpha) * (ghost.astype(np.float32) / np.float32(255)) * np.float32(style.ghost)
    image = _paint(alpha, style.background, style.ink)
    _light_unevenly(image, style)
    area = (margin, margin, margin + digits_w, base_y)
    return LcdDrawing(image=image, digit_area=area, digit_boxes=tuple(boxes))


def _draw_indicators(
    lit: npt.NDArray[np.uint8], style: LcdStyle, margin: float, digit_h: float, digits_w: float
) -> None:
    """Small lit marks above the digits (credit arrow, signal bars) in the top margin."""
    size = digit_h * 0.16
    if style.indicators == 0 or margin < size * 2.6:
        return
    y1 = size * 1.3  # near the top edge of the window, well clear of the digits
    for index in range(style.indicators):
        x0 = margin + digits_w * (0.1 + 0.8 * index / max(1, style.indicators))
        if index % 2 == 0:  # a triangle
            polygon = np.array([[x0, y1], [x0 + size * 1.2, y1], [x0 + size * 0.6, y1 - size]])
        else:  # a bar
            polygon = np.array(
                [
                    [x0, y1 - size * 0.5],
                    [x0 + size * 2, y1 - size * 0.5],
                    [x0 + size * 2, y1],
                    [x0, y1],
                ]
            )
        _fill(lit, polygon)


def _light_unevenly(image: FloatImage, style: LcdStyle) -> None:
    """Uneven backlight and faint scratches on the cover (fixed per meter)."""
    height, width = image.shape[:2]
    if style.backlight_gradient > 0:
        ramp = np.linspace(1 - style.backlight_gradient, 1, width, dtype=np.float32)
        image *= ramp[None, :, None]
    if style.scratches:
        rng = np.random.default_rng(zlib.crc32(style_seed_text(style).encode()))
        marks = np.zeros((height, width), np.uint8)
        for _ in range(style.scratches):
            x0, x1 = rng.uniform(0, width, 2)
            y0, y1 = rng.uniform(0, height, 2)
            start, end = (
                (round(x0 * SCALE), round(y0 * SCALE)),
                (round(x1 * SCALE), round(y1 * SCALE)),
            )
            cv2.line(marks, start, end, 255, 1, cv2.LINE_AA, SHIFT)
        strength = (marks.astype(np.float32) * np.float32(0.2 / 255))[..., None]
        image += (255 - image) * strength


def draw_meter(lcd: LcdDrawing, style: LcdStyle, digit_h: float) -> MeterDrawing:
    """Put the LCD in a bezel on a meter body with labels, keypad and LEDs."""
    lh, lw = lcd.image.shape[:2]
    bezel = style.bezel_width * digit_h
    left, top, right, bottom = (m * digit_h for m in style.body_margins)
    key_h = digit_h * 0.7
    keypad_h = 4 * key_h * 1.35 if style.keypad else 0.0
    width = round(lw + 2 * bezel + left + right)
    height = round(lh + 2 * bezel + top + bottom + keypad_h)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = style.body
    bx0, by0 = left, top
    cv2.rectangle(
        image,
        (int(bx0), int(by0)),
        (int(bx0 + lw + 2 * bezel), int(by0 + lh + 2 * bezel)),
        style.bezel,
        -1,
    )
    lx0, ly0 = round(bx0 + bezel), round(by0 + bezel)
    image[ly0 : ly0 + lh, lx0 : lx0 + lw] = np.clip(lcd.image + 0.5, 0, 255).astype(np.uint8)
    text_colour = _contrast_colour(style.body)
    _draw_labels(image, style.body_labels, (0, 0, width, int(by0)), digit_h, text_colour)
    if style.leds:
        for i, colour in enumerate(((40, 40, 220), (40, 200, 40))):
            centre = (int(width - right * 0.5 - i * digit_h * 0.4), int(top * 0.5))
            cv2.circle(image, centre, max(2, int(digit_h * 0.1)), colour, -1, cv2.LINE_AA)
    if style.keypad:
        _draw_keypad(image, (lx0, ly0 + lh + bezel + digit_h * 0.4), lw, key_h, style)
    alpha = np.zeros((height, width), np.uint8)
    radius = int(min(width, height) * 0.06)
    _rounded_rect(alpha, width, height, radius)
    area = lcd.digit_area
    offset = (lx0, ly0)
    return MeterDrawing(
        image=image.astype(np.float32),
        alpha=alpha.astype(np.float32) / np.float32(255),
        lcd_rect=(lx0, ly0, lx0 + lw, ly0 + lh),
        digit_area=_shift(area, offset),
        digit_boxes=tuple(_shift(b, offset) for b in lcd.digit_boxes),
    )


def _segment_polygon(
    name: str, x0: float, y0: float, w: float, h: float, t: float, style: LcdStyle
) -> Points:
    half = t / 2
    xl, xr = x0 + half, x0 + w - half
    yt, ym, yb = y0 + half, y0 + h / 2, y0 + h - half
    ends = {
        "a": ((xl, yt), (xr, yt), (0.0, -1.0)),
        "b": ((xr, yt), (xr, ym), (1.0, 0.0)),
        "c": ((xr, ym), (xr, yb), (1.0, 0.0)),
        "d": ((xl, yb), (xr, yb), (0.0, 1.0)),
        "e": ((xl, ym), (xl, yb), (-1.0, 0.0)),
        "f": ((xl, yt), (xl, ym), (-1.0, 0.0)),
        "g": ((xl, ym), (xr, ym), (0.0, 0.0)),
    }
    start, end, outward = ends[name]
    p0, p1, out = np.array(start), np.array(end), np.array(outward)
    u = (p1 - p0) / np.linalg.norm(p1 - p0)
    n = np.array([-u[1], u[0]])
    gap = style.segment_gap * t
    if style.shape == "rect":
        a, b = p0 + u * (half + gap / 2), p1 - u * (half + gap / 2)
        return np.array([a + n * half, b + n * half, b - n * half, a - n * half])
    a, b = p0 + u * gap, p1 - u * gap
    if style.shape == "trapezoid" and out.any():
        return np.array(
            [
                a - u * half + out * half,
                b + u * half + out * half,
                b - u * half - out * half,
                a + u * half - out * half,
            ]
        )
    return np.array(
        [
            a,
            a + u * half + n * half,
            b - u * half + n * half,
            b,
            b - u * half - n * half,
            a + u * half - n * half,
        ]
    )


def _hollow_out(lit: npt.NDArray[np.uint8], stroke: float, hollow: float) -> None:
    """Outlined segments (many meters): keep a rim of about a quarter stroke at full
    ink and lighten what lies inside it by ``hollow``."""
    rim = max(1, round(stroke * 0.25))
    inside = cv2.erode(lit, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rim + 1,) * 2))
    lit -= np.round(inside.astype(np.float32) * np.float32(hollow)).astype(np.uint8)


def _fill(mask: npt.NDArray[np.uint8], polygon: Points, value: float = 255) -> None:
    pts = np.round(polygon * SCALE).astype(np.int32)
    cv2.fillPoly(mask, [pts], round(value), cv2.LINE_AA, SHIFT)


def _paint(alpha: FloatImage, background: BGR, ink: BGR) -> FloatImage:
    bg = np.array(background, np.float32)
    fg = np.array(ink, np.float32)
    painted: FloatImage = bg + alpha[..., None] * (fg - bg)
    return painted


def _contrast_colour(colour: BGR) -> BGR:
    return (30, 30, 30) if sum(colour) > 360 else (225, 225, 225)


def _draw_labels(
    image: npt.NDArray[np.uint8],
    labels: tuple[str, ...],
    box: tuple[int, int, int, int],
    digit_h: float,
    colour: BGR,
) -> None:
    x0, y0, x1, y1 = box
    scale = digit_h * 0.02
    line_h = digit_h * 0.5
    y = y0 + line_h
    x = x0 + digit_h * 0.4
    for label in labels:
        (tw, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        if x + tw > x1:
            x, y = x0 + digit_h * 0.4, y + line_h
        if y > y1 - digit_h * 0.1:
            return
        thickness = max(1, int(digit_h * 0.03))
        cv2.putText(
            image, label, (int(x), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thickness
        )
        x += tw + digit_h * 0.5


def _draw_keypad(
    image: npt.NDArray[np.uint8],
    origin: tuple[float, float],
    width: float,
    key_h: float,
    style: LcdStyle,
) -> None:
    keys = ("123", "456", "789", "<0E")
    key_w = min(width / 3 * 0.7, key_h * 1.6)
    gap_x = (width - 3 * key_w) / 2
    key_colour = _contrast_colour(style.body)
    text_colour = style.body
    for row, labels in enumerate(keys):
        for col, label in enumerate(labels):
            x = origin[0] + col * (key_w + gap_x)
            y = origin[1] + row * key_h * 1.35
            cv2.rectangle(
                image,
                (int(x), int(y)),
                (int(x + key_w), int(y + key_h)),
                key_colour,
                -1,
                cv2.LINE_AA,
            )
            scale = key_h * 0.022
            cv2.putText(
                image,
                label,
                (int(x + key_w * 0.4), int(y + key_h * 0.75)),
                cv2.FONT_HERSHEY_SIMPLEX,
                scale,
                text_colour,
                max(1, int(key_h * 0.06)),
                cv2.LINE_AA,
            )


def _rounded_rect(mask: npt.NDArray[np.uint8], width: int, height: int, radius: int) -> None:
    cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
    cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 255, -1)
    for cx in (radius, width - 1 - radius):
        for cy in (radius, height - 1 - radius):
            cv2.circle(mask, (cx, cy), radius, 255, -1, cv2.LINE_AA)


def _shift(
    box: tuple[float, float, float, float], offset: tuple[float, float]
) -> tuple[float, float, float, float]:
    return (box[0] + offset[0], box[1] + offset[1], box[2] + offset[0], box[3] + offset[1])
