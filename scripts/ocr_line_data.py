"""Hard line crops for training the reader's line network, drawn with the project's renderer.

``line_sample`` draws one LCD face-on with ``tokenmeter.sim.render_lcd`` in a widely
randomised style, cuts a tight box around the digits (sometimes through the top,
bottom or an edge digit), and then damages it the way cheap cameras and old meter
covers do: low ink contrast, fading segments, strong unlit "ghost" segments, blur, glare spots,
scratches, dirt, colour casts, uneven light, noise, JPEG; a quarter of the crops
are then resized to one fixed box whatever they hold. The damage was chosen by
looking at what photos of meter LCDs suffer from in general (the fixed box because
crop collections are often stored at one size, as the real crops the benchmark
reads are); no real photo, label or pixel is used.

Label rule for cut digits: a digit at the edge of the crop with less than 60 % of
its lit segments visible is not part of the label (it cannot be read); one with
60-85 % visible is never generated, so the rule is never ambiguous. Visibility is
measured on the digit's ink, not its cell: a "1" whose cell is half cut away is
still a whole "1".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace

import cv2
import numpy as np

from tokenmeter.sim.render_lcd import Slot, display_slots, draw_lcd
from tokenmeter.sim.render_style import LcdStyle, random_style

Image = np.ndarray

FIXED_BOX_SHARE = 0.25
"""Share of crops resized to a fixed box, as tools that store crops at one size do
(the digits then come out stretched or squeezed by however much the line differs)."""
FIXED_BOX_ASPECT = (5.0, 8.0)
"""Width / height range of such a box."""


def random_text(rng: np.random.Generator, positions: int, decimals: int) -> str:
    """A plausible display text for a meter with this many positions and decimals."""
    kind = rng.random()
    if kind < 0.04:
        return "----" + str(int(rng.integers(1, 3)))
    if kind < 0.12:  # digits being typed on the keypad
        return "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(1, 9))))
    whole_digits = int(rng.integers(1, max(2, positions - decimals + 1)))
    whole = int(rng.integers(0, 10**whole_digits))
    if rng.random() < 0.3:
        whole = int(rng.integers(0, 10))
    if decimals == 0:
        return str(whole)
    fraction = "".join(str(d) for d in rng.integers(0, 10, size=decimals))
    return f"{whole}.{fraction}"


def hard_style(rng: np.random.Generator) -> LcdStyle:
    """``random_style`` pushed further: thinner strokes, wider gaps, stronger ghosts,
    half the time a small, faint decimal point tight after its digit, and now and then
    outlined segments (both seen on many meters)."""
    style = random_style(rng)
    over = bool(rng.random() < 0.5)  # many meters print "kWh" above a small tenths digit
    ghost = float(rng.choice([0.0, rng.uniform(0.03, 0.2), rng.uniform(0.15, 0.42)]))
    small_point = bool(rng.random() < 0.5)  # a faint dot, half a stroke, tight after its digit
    hollow = float(rng.uniform(0.45, 0.9)) if rng.random() < 0.2 else 0.0  # outlined segments
    return replace(
        style,
        stroke=float(rng.uniform(0.11, 0.22) if hollow else rng.uniform(0.06, 0.22)),
        hollow=hollow,
        spacing=float(rng.uniform(0.12, 0.6)),
        aspect=float(rng.uniform(0.38, 0.72)),
        segment_gap=float(rng.uniform(0.03, 0.25)),
        slant_deg=float(rng.choice([0.0, rng.uniform(0, 16), rng.uniform(5, 16)])),
        ghost=ghost,
        point_size=float(rng.uniform(0.45, 0.9)) if small_point else style.point_size,
        point_ink=max(ghost + 0.35, float(rng.uniform(0.5, 1.0))) if small_point else 1.0,
        point_place=float(rng.uniform(0.15, 0.5)) if small_point else 0.5,
        segment_fade=float(rng.choice([0.0, 0.0, rng.uniform(0.1, 0.55)])),
        small_tenths=style.small_tenths or bool(rng.random() < 0.4),
        small_ratio=float(rng.uniform(0.38, 0.52) if over else rng.uniform(0.3, 0.92)),
        label_over_tenths=over,
        tenths_gap=float(rng.choice([0.0, rng.uniform(0.0, 0.6)])),
        lcd_label=str(rng.choice(["kWh", "kWh", "", "KWH", "Rp", "CkWh", "kW"])),
        scratches=0,  # drawn below, after the crop
        backlight_gradient=0.0,
    )


def _label(slots: list[Slot]) -> str:
    return "".join(s.char + ("." if s.point_after else "") for s in slots).replace(" ", "")


def _slots(rng: np.random.Generator, style: LcdStyle) -> tuple[list[Slot], list[Slot]]:
    """Slots to draw and slots to label. The point before a small tenths digit may be
    unlit; the label keeps it, since a smaller last digit is the meter's tenths."""
    if rng.random() < 0.03:  # a blank LCD: nothing to read
        blank = [Slot(" ") for _ in range(style.positions)]
        return blank, []
    decimals = 1 if style.small_tenths and rng.random() < 0.85 else style.decimals
    slots = display_slots(random_text(rng, style.positions, decimals), style)
    if slots[-1].small and style.small_ratio < 0.7 and rng.random() < 0.7:  # visibly small
        return [replace(s, point_after=False) for s in slots], slots
    return slots, slots


def _lit(patch: Image, style: LcdStyle) -> Image:
    """Lit pixels of a face-on LCD patch (ghost segments stay under 0.45 of the ink)."""
    background = np.array(style.background, np.float32)
    span = np.array(style.ink, np.float32) - background
    return np.asarray((patch - background) @ span / max(float(span @ span), 1.0) > 0.6)


def _lit_share(
    image: Image, style: LcdStyle, box: tuple[float, float, float, float], x0: float, x1: float
) -> float:
    """Share of a digit's lit ink (not its cell: a "1" lives at the right of its cell)
    that falls between columns ``x0`` and ``x1`` of the face-on LCD; 1 for a blank."""
    bx0, by0, bx1, by1 = box
    c0, c1 = max(0, math.floor(bx0) - 1), min(image.shape[1], math.ceil(bx1) + 1)
    r0, r1 = max(0, math.floor(by0)), min(image.shape[0], math.ceil(by1))
    columns = _lit(image[r0:r1, c0:c1], style).sum(axis=0).astype(np.float64)
    total = float(columns.sum())
    if total == 0:
        return 1.0
    centres = np.arange(c0, c1) + 0.5
    return float(columns[(centres >= x0) & (centres < x1)].sum() / total)


def _ink_columns(
    image: Image, style: LcdStyle, area: tuple[float, float, float, float]
) -> tuple[float, float]:
    """First and last column of lit ink in the digit area (the area's sides if none)."""
    ax0, ay0, ax1, ay1 = (round(v) for v in area)
    inked = np.flatnonzero(_lit(image[max(0, ay0) : ay1, max(0, ax0) : ax1], style).any(axis=0))
    if inked.size == 0:
        return float(ax0), float(ax1)
    return float(max(0, ax0) + inked[0]), float(max(0, ax0) + inked[-1] + 1)


def _horizontal_cut(
    rng: np.random.Generator,
    boxes: list[tuple[float, float, float, float]],
    digit_h: float,
    width: float,
    share: Callable[[int, float, float], float],
    ink: tuple[float, float],
    point_before_last: bool,
) -> tuple[float, float, int, int]:
    """x0, x1 of the crop and the first/last slot index kept in the label.

    A cut through an edge digit keeps it in the label when at least 85 % of its lit
    ink is inside the crop and drops it under 60 %; in between (neither readable nor
    clearly gone) the cut moves out of the digit. The last digit is not cut when a
    point precedes it: "12." would teach nothing the reader can use. Uncut sides
    sit a little way out from the outermost ink, often right against it (a leading
    "1" touching the crop's edge)."""
    first, last = 0, len(boxes) - 1
    if rng.random() < 0.12 and len(boxes) > 3:  # through the first digit
        bx0, _, bx1, _ = boxes[0]
        x0 = bx0 + (bx1 - bx0) * float(rng.uniform(0.4, 0.97))
        seen = share(0, x0, width)
        if seen < 0.6:
            first = 1
        elif seen < 0.85:
            x0 = bx0
    elif rng.random() < 0.1:  # a sliver of the first digit cut off: still readable
        bx0, _, bx1, _ = boxes[0]
        x0 = bx0 + (bx1 - bx0) * float(rng.uniform(0.0, 0.12))
    else:
        x0 = ink[0] - digit_h * float(rng.uniform(0.0, 0.7 if rng.random() < 0.6 else 0.05))
    if rng.random() < 0.12 and len(boxes) - first > 3 and not point_before_last:  # the last
        bx0, _, bx1, _ = boxes[-1]
        x1 = bx0 + (bx1 - bx0) * float(rng.uniform(0.03, 0.6))
        seen = share(len(boxes) - 1, 0.0, x1)
        if seen < 0.6:
            last = len(boxes) - 2
        elif seen < 0.85:
            x1 = bx1
    elif rng.random() < 0.15:  # a sliver of the last digit cut off: still readable
        bx0, _, bx1, _ = boxes[-1]
        x1 = bx1 - (bx1 - bx0) * float(rng.uniform(0.0, 0.12))
    else:
        x1 = ink[1] + digit_h * float(rng.uniform(0.0, 1.4 if rng.random() < 0.6 else 0.05))
    return max(0.0, x0), min(width, x1), first, last


def _cut_label(slots: list[Slot], first: int, last: int) -> str:
    """The label of the slots kept. A point before a dropped last digit would stay
    ("12."), but ``_horizontal_cut`` never drops a digit after a point."""
    return _label(slots[first : last + 1])


def line_sample(rng: np.random.Generator) -> tuple[Image, str]:
    """One damaged BGR line crop and the text a careful reader would read on it."""
    style = hard_style(rng)
    slots, labelled = _slots(rng, style)
    digit_h = float(rng.uniform(26, 60))
    lcd = draw_lcd(slots, style, digit_h)
    image = lcd.image
    boxes = list(lcd.digit_boxes)
    x0, x1, first, last = _horizontal_cut(
        rng,
        boxes,
        digit_h,
        image.shape[1],
        lambda k, a, b: _lit_share(image, style, boxes[k], a, b),
        _ink_columns(image, style, lcd.digit_area),
        len(labelled) > 1 and labelled[-2].point_after,
    )
    label = _cut_label(labelled, first, last) if labelled else ""
    _, ay0, _, ay1 = lcd.digit_area
    loose = 0.45 if rng.random() < 0.6 else 0.1  # often the digits fill the crop
    # a lit point and a small tenths digit stay seen
    bottom_cut = 0.03 if any(s.point_after or s.small for s in slots) else 0.12
    y0 = ay0 - digit_h * float(rng.uniform(-0.12, loose))
    y1 = ay1 + digit_h * float(rng.uniform(-bottom_cut, loose))
    image = _contrast(image, style, rng)
    edge_cut = x0 > boxes[0][0] or x1 < boxes[-1][2]
    if rng.random() < 0.3:
        image = _window_edges(image, (y0, y1), (ay0, ay1), rng)
    crop = _warp(image, (x0, y0, x1, y1), rng, turn=0.0 if edge_cut else 1.0)
    crop = cv2.resize(crop, _output_size(crop.shape, rng), interpolation=cv2.INTER_AREA)
    return damage(crop, rng), label


def _output_size(shape: tuple[int, ...], rng: np.random.Generator) -> tuple[int, int]:
    """(width, height) the crop is resized to: its own shape stretched or squeezed
    (digit widths vary a lot), or now and then one fixed box whatever it holds
    (then "884" comes out as wide as "004824.0")."""
    out_h = int(rng.integers(24, 40)) if rng.random() < 0.65 else int(rng.integers(14, 64))
    if rng.random() < FIXED_BOX_SHARE:
        return round(out_h * float(rng.uniform(*FIXED_BOX_ASPECT))), out_h
    stretch = float(np.exp(rng.uniform(np.log(0.55), np.log(1.8))))
    return max(8, round(shape[1] * out_h / shape[0] * stretch)), out_h


def _window_edges(
    image: Image, cut: tuple[float, float], digits: tuple[float, float], rng: np.random.Generator
) -> Image:
    """The LCD window's frame showing along the top and/or bottom of the crop rows
    ``cut`` (y0, y1): a dark (sometimes white) band, a little tilted, often with a
    bright rim where the bezel catches the light. It stays in the free room between
    the cut and the digit rows ``digits``: a frame never covers the digits."""
    out = image.copy()
    h, w = out.shape[:2]
    xs = np.arange(w, dtype=np.float32)
    rows = np.arange(h, dtype=np.float32)[:, None]
    colour = np.float32(rng.uniform(0, 60) if rng.random() < 0.8 else rng.uniform(200, 255))
    (y0, y1), (d0, d1) = cut, digits
    for room, top in ((d0 - y0, True), (y1 - d1, False)):
        if room < 2 or rng.random() < 0.35:
            continue
        a, b = rng.uniform(0.3, 1.0, size=2) * min(room - 1, 0.3 * (y1 - y0))  # rim stays out
        depth = a + (b - a) * xs / max(1, w - 1)  # band thickness across the window
        edge_row = (y0 + depth if top else y1 - depth)[None, :]
        inside = rows < edge_row if top else rows >= edge_row
        out[inside] = colour + rng.normal(0, 6, size=(int(inside.sum()), 3)).astype(np.float32)
        if rng.random() < 0.5:  # a bright rim along the frame's edge
            out[np.abs(rows - edge_row) < 0.8] = np.float32(rng.uniform(180, 255))
    return out


def _contrast(image: Image, style: LcdStyle, rng: np.random.Generator) -> Image:
    """Pull the ink towards the background: real LCDs are often faint."""
    background = np.array(style.background, np.float32)
    full = abs(max(style.ink) - max(style.background))  # the network sees the brightest channel
    keep = max(0.15 + 0.85 * float(rng.random()) ** 1.3, min(1.0, 45 / max(full, 1)))
    return background + (image - background) * np.float32(keep)


def _warp(
    image: Image, box: tuple[float, float, float, float], rng: np.random.Generator, turn: float
) -> Image:
    """Cut ``box`` out of the face-on LCD, turned by up to 3 degrees and a little sheared
    (times ``turn``: 0 when an edge digit is cut, so the cut stays where it was drawn)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    angle = math.radians(float(rng.uniform(-3, 3)) * turn)
    shear = float(rng.uniform(-0.12, 0.12)) * turn
    cx, cy = x0 + w / 2, y0 + h / 2
    c, s = math.cos(angle), math.sin(angle)
    # output pixel (u, v) -> source point
    forward = np.array([[c, -s + shear, 0.0], [s, c, 0.0]], np.float32)
    forward[:, 2] = [
        cx - (forward[0, 0] * w / 2 + forward[0, 1] * h / 2),
        cy - (forward[1, 0] * w / 2 + forward[1, 1] * h / 2),
    ]
    return cv2.warpAffine(
        image,
        forward,
        (max(4, round(w)), max(4, round(h))),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def damage(crop: Image, rng: np.random.Generator) -> Image:
    """Camera and cover damage on a float BGR crop; returns uint8 BGR."""
    img: Image = crop.astype(np.float32)
    h, w = img.shape[:2]
    img = _uneven_light(img, rng)
    for _ in range(int(rng.choice([0, 0, 1, 1, 2, 3]))):
        img = _glare(img, rng)
    img = _scratches_and_dirt(img, rng)
    if rng.random() < 0.8:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, max(0.4, 0.06 * h))))
    if rng.random() < 0.15:
        length = int(rng.integers(2, max(3, h // 5)))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0 / length
        img = cv2.filter2D(img, -1, kernel)
    if rng.random() < 0.25:  # low resolution, scaled back up
        f = float(rng.uniform(0.35, 0.8))
        small = cv2.resize(img, (max(4, round(w * f)), max(4, round(h * f))))
        img = cv2.resize(small, (w, h))
    img = img * rng.uniform(0.75, 1.25, size=3).astype(np.float32)  # colour cast
    img = img * np.float32(rng.uniform(0.75, 1.25)) + np.float32(rng.uniform(-20, 20))
    if rng.random() < 0.1:  # an underexposed photo
        img = img * np.float32(rng.uniform(0.25, 0.6))
    img = img + rng.normal(0, float(rng.uniform(0, 12)), img.shape).astype(np.float32)
    out: Image = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        quality = int(rng.integers(20, 95))
        _ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        decoded = cv2.imdecode(enc, cv2.IMREAD_COLOR)
        assert decoded is not None  # a JPEG cv2.imencode just wrote
        out = decoded
    return out


def _uneven_light(img: Image, rng: np.random.Generator) -> Image:
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-0.5, 0.5, 2)
    field = 1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    if rng.random() < 0.4:  # a dark corner or a bright patch
        cx, cy = rng.uniform(0, w), rng.uniform(-h, 2 * h)
        radius = float(rng.uniform(0.3, 1.5)) * w
        spot = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / radius**2)
        field += float(rng.uniform(-0.4, 0.3)) * spot
    lit: Image = img * np.clip(field, 0.3, 1.6)[..., None]
    return lit


def _glare(img: Image, rng: np.random.Generator) -> Image:
    """A soft bright reflection, sometimes burning out to white."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0, w), rng.uniform(-0.2 * h, 1.2 * h)
    rx = float(rng.uniform(0.05, 0.6)) * h * (float(rng.uniform(1, 4)) if rng.random() < 0.3 else 1)
    ry = float(rng.uniform(0.05, 0.6)) * h
    strength = float(rng.uniform(0.2, 0.7))
    blob = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
    blob = np.clip(blob * strength, 0, 1)[..., None]
    glared: Image = img + (255 - img) * blob
    return glared


def _scratches_and_dirt(img: Image, rng: np.random.Generator) -> Image:
    h, w = img.shape[:2]
    marks = np.zeros((h, w), np.float32)
    for _ in range(int(rng.choice([0, 0, 1, 2, 4, 8]))):
        p0 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        p1 = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.line(marks, p0, p1, float(rng.uniform(-1, 1)), 1, cv2.LINE_AA)
    for _ in range(int(rng.choice([0, 0, 2, 6, 15]))):
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(1, max(2, h // 10)))
        cv2.circle(marks, centre, radius, float(rng.uniform(-1, 1)), -1, cv2.LINE_AA)
    strength = float(rng.uniform(20, 90))
    marked: Image = img + marks[..., None] * strength
    return marked
