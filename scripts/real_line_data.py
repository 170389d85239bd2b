"""Training and validation lines assembled from real seven-segment digit cells.

``../shared/datasets/real-digits`` holds 3,304 real photographed digit cells from
about a dozen displays (Apache-2.0; sources in its README and in
``docs/ocr-model.md``). A line is built from the cells of one device: cells of
that device are scaled to one height, trimmed, set side by side with real-looking
spacing, given a decimal point (sometimes before a smaller tenths digit), a
"kWh" legend, margins of the display's own background, a window frame, a
backlight colour, and then the camera damage of ``ocr_line_data.damage``. The
label is the digits shown, blank cells left out.

Cells are split by device, never by file: ``HELD_OUT`` devices never reach
training and are the real validation data the gate is calibrated on. Label
corrections (seen by eye) are in ``real_digits_fixes.tsv``; ``EXCLUDED`` devices
are left out altogether.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ocr_line_data import damage  # scripts/, beside this file

Image = np.ndarray

CELLS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "real-digits"
FIXES = Path(__file__).resolve().parent / "real_digits_fixes.tsv"
HELD_OUT = ("lcd-digital_italic", "watermeter-Metrona-cold-20251014")
"""Devices kept out of training: the real validation and calibration data. (lcd2
trains: its cells show the frame bars printed above and below each digit, which a
network must learn are not segments; held out, they made every "4" a "9".)"""
EXCLUDED = ("powermeter-LandisGyrT330_C",)
"""Cells shifted so each shows part of its neighbour, and unreliable 7s (the README)."""
CELL_HEIGHT = 48
BACKLIGHTS = (
    (40, 230, 40),
    (60, 200, 120),
    (30, 140, 250),
    (230, 140, 40),
    (200, 200, 200),
    (150, 220, 200),
    (90, 200, 230),
    (120, 180, 120),
)
"""BGR backlight colours a grey line may be tinted with (green, orange, blue, grey...)."""


@dataclass(frozen=True)
class Cell:
    image: Image  # BGR, CELL_HEIGHT rows
    label: str  # "0".."9" or "" (an unlit position)
    device: str


def load_cells(root: Path = CELLS, fixes: Path = FIXES) -> dict[str, list[Cell]]:
    """Every usable cell by device, labels corrected by ``fixes``."""
    corrected: dict[str, str] = {}
    if fixes.is_file():
        with fixes.open() as f:
            for row in csv.DictReader(f, delimiter="\t"):
                corrected[row["file"]] = row["new"]
    by_device: dict[str, list[Cell]] = {}
    with (root / "labels.csv").open() as f:
        for row in csv.DictReader(f):
            if row["device"] in EXCLUDED:
                continue
            image = cv2.imread(str(root / row["file"]), cv2.IMREAD_COLOR)
            if image is None:
                continue
            h, w = image.shape[:2]
            image = cv2.resize(image, (max(4, round(w * CELL_HEIGHT / h)), CELL_HEIGHT))
            label = corrected.get(row["file"], row["label"])
            cell = Cell(image, "" if label == "blank" else label, row["device"])
            by_device.setdefault(row["device"], []).append(cell)
    return by_device


def split(cells: dict[str, list[Cell]]) -> tuple[dict[str, list[Cell]], dict[str, list[Cell]]]:
    """(training devices, held-out devices)."""
    train = {d: c for d, c in cells.items() if d not in HELD_OUT}
    held = {d: c for d, c in cells.items() if d in HELD_OUT}
    return train, held


def _background(cells: list[Image]) -> np.ndarray:
    """The display's background colour: the median of the cells' brighter border pixels."""
    border = np.concatenate(
        [np.concatenate([c[:2].reshape(-1, 3), c[-2:].reshape(-1, 3)]) for c in cells]
    ).astype(np.float32)
    grey = border.mean(axis=1)
    return np.asarray(np.median(border[grey >= np.median(grey)], axis=0), np.float32)


def _ink(cells: list[Image]) -> np.ndarray:
    """The ink colour: the darkest few percent of the cells' pixels (dark-on-light LCDs)."""
    pixels = np.concatenate([c.reshape(-1, 3) for c in cells]).astype(np.float32)
    grey = pixels.mean(axis=1)
    return np.asarray(np.median(pixels[grey <= np.percentile(grey, 3)], axis=0), np.float32)


COMMA_DEVICES = "watermeter-Metrona"
"""Devices whose cells often hold a comma of the display beside the digit: a line
built from them would show separators its label lacks, so their sides are cut
further (``_trim``)."""


def _trim(cell: Cell, rng: np.random.Generator) -> Image:
    """Cut a random sliver off each side (cells often hold neighbours' fragments);
    a wider one from cells of ``COMMA_DEVICES``, whose digit sits in the middle."""
    w = cell.image.shape[1]
    low, high = (0.18, 0.24) if cell.device.startswith(COMMA_DEVICES) else (0.0, 0.14)
    a = int(rng.uniform(low, high) * w)
    b = w - int(rng.uniform(low, high) * w)
    return cell.image[:, a : max(a + 4, b)]


def _pick(cells: list[Cell], rng: np.random.Generator, digit: bool) -> Cell:
    pool = [c for c in cells if bool(c.label) == digit] or cells
    return pool[int(rng.integers(0, len(pool)))]


def _fill(shape: tuple[int, int], colour: np.ndarray, rng: np.random.Generator) -> Image:
    noise = rng.normal(0, 3, size=(*shape, 3)).astype(np.float32)
    return np.asarray(colour[None, None, :] + noise, np.float32)


def real_line(cells: list[Cell], rng: np.random.Generator) -> tuple[Image, str]:
    """One line image (BGR uint8) from one device's cells, and its label."""
    count = int(rng.choice([1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8]))
    blanks = int(rng.integers(0, count)) if rng.random() < 0.25 else 0  # leading unlit
    if rng.random() < 0.04:
        blanks = count  # nothing lit: nothing to read
    chosen = [_pick(cells, rng, digit=k >= blanks) for k in range(count)]
    images: list[Image] = [_trim(c, rng).astype(np.float32) for c in chosen]
    background, ink = _background(images), _ink(images)
    width_scale = float(np.exp(rng.uniform(np.log(0.7), np.log(1.3))))
    images = [
        cv2.resize(im, (max(4, round(im.shape[1] * width_scale)), CELL_HEIGHT)) for im in images
    ]
    labels = [c.label for c in chosen]
    decimals = 0
    if count >= 2 and any(labels) and rng.random() < 0.4:
        decimals = int(rng.choice([1, 1, 1, 2, 3])) if count >= 4 else 1
        decimals = max(0, min(decimals, count - blanks - 1))  # a lit digit before the point
    small_tenths = decimals == 1 and rng.random() < 0.3
    if small_tenths:
        ratio = float(rng.uniform(0.5, 0.8))
        last = images[-1]
        size = (max(4, round(last.shape[1] * ratio)), round(CELL_HEIGHT * ratio))
        small = cv2.resize(last, size)
        top = _fill((CELL_HEIGHT - small.shape[0], small.shape[1]), background, rng)
        images[-1] = np.vstack([top, small])
    gap = float(rng.uniform(-0.02, 0.25)) * CELL_HEIGHT
    parts: list[Image] = []
    label = ""
    point_at = count - decimals if decimals else -1
    point_hidden = small_tenths and rng.random() < 0.3  # unlit point: label keeps it
    for k, (im, char) in enumerate(zip(images, labels, strict=True)):
        if k == point_at:
            room = max(3, round(gap + float(rng.uniform(0.05, 0.2)) * CELL_HEIGHT))
            spot = _fill((CELL_HEIGHT, room), background, rng)
            if not point_hidden:
                radius = max(1, round(float(rng.uniform(0.04, 0.08)) * CELL_HEIGHT))
                centre = (room // 2, CELL_HEIGHT - radius - int(rng.integers(1, 5)))
                cv2.circle(spot, centre, radius, tuple(float(v) for v in ink), -1, cv2.LINE_AA)
            parts.append(spot)
            label += "."
        elif k > 0 and gap > 0:
            room = max(1, round(gap * float(rng.uniform(0.7, 1.3))))
            parts.append(_fill((CELL_HEIGHT, room), background, rng))
        parts.append(im)
        label += char
    if not label.replace(".", ""):
        label = ""
    line = np.hstack(parts)
    line = _margins(line, background, ink, rng, legend=decimals > 0 and rng.random() < 0.3)
    if rng.random() < 0.55:
        line = _tint(line, rng)
    out_h = int(rng.integers(20, 44))
    if count >= 3 and rng.random() < 0.35:  # one fixed box whatever the line holds
        size = (round(out_h * float(rng.uniform(5.0, 8.0))), out_h)
    else:
        stretch = float(np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
        size = (max(8, round(line.shape[1] * out_h / line.shape[0] * stretch)), out_h)
    line = cv2.resize(np.clip(line, 0, 255), size, interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:  # more would leave many lines no person could read
        return damage(line, rng), label
    return np.clip(line, 0, 255).astype(np.uint8), label


def _margins(
    line: Image, background: np.ndarray, ink: np.ndarray, rng: np.random.Generator, legend: bool
) -> Image:
    """Room around the digits (often tight), a "kWh" legend, sometimes the window frame."""
    h, w = line.shape[:2]
    tight = rng.random() < 0.5
    top, bottom = (rng.uniform(0.0, 0.12, 2) if tight else rng.uniform(0.05, 0.5, 2)) * h
    left, right = (rng.uniform(0.0, 0.15, 2) if tight else rng.uniform(0.05, 0.8, 2)) * h
    if legend:
        top = max(top, 0.35 * h)
    t, b, lft, r = (round(float(v)) for v in (top, bottom, left, right))
    out = _fill((h + t + b, w + lft + r), background, rng)
    out[t : t + h, lft : lft + w] = line
    if legend:  # drawn as a mask: putText wants 8-bit images
        mask = np.zeros(out.shape[:2], np.uint8)
        text = str(rng.choice(["kWh", "KWH", "kW"]))
        origin = (max(0, lft + w - round(2.2 * t)), t - 3)
        scale = max(0.25, t / 40)
        cv2.putText(mask, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 1, cv2.LINE_AA)
        alpha = (mask.astype(np.float32) / 255)[..., None]
        out = out * (1 - alpha) + ink[None, None, :] * alpha
    if rng.random() < 0.25:  # the window frame along the top and/or bottom
        colour = float(rng.uniform(0, 70))
        for rows in (slice(0, max(1, t // 2)), slice(out.shape[0] - max(1, b // 2), None)):
            if rng.random() < 0.6:
                out[rows] = colour
    return out


def _tint(line: Image, rng: np.random.Generator) -> Image:
    """Map the line's grey to a backlight: light parts take the backlight colour,
    dark parts (ink) a dark shade of it, as on coloured meter LCDs."""
    grey = line.mean(axis=2, keepdims=True)
    lo, hi = np.percentile(grey, (2, 98))
    t = np.clip((grey - lo) / max(1.0, float(hi - lo)), 0, 1)
    light = np.array(BACKLIGHTS[int(rng.integers(0, len(BACKLIGHTS)))], np.float32)
    light = light * rng.uniform(0.8, 1.1, 3).astype(np.float32)
    dark = light * np.float32(rng.uniform(0.05, 0.45))
    return np.asarray(dark + (light - dark) * t, np.float32)


def line_set(
    cells: dict[str, list[Cell]], count: int, seed: int, kazuhito_share: float = 0.25
) -> tuple[list[Image], list[str]]:
    """``count`` lines from these devices (one device per line), seeded.

    The two kazuhito00 LCDs hold most cells; they get ``kazuhito_share`` of the
    lines, the other devices share the rest evenly."""
    rng = np.random.default_rng(seed)
    devices = sorted(cells)
    big = [d for d in devices if d == "kazuhito00"]
    small = [d for d in devices if d != "kazuhito00" and len(cells[d]) >= 10]
    images, labels = [], []
    for _ in range(count):
        if big and (not small or rng.random() < kazuhito_share):
            device = big[0]
        else:
            device = small[int(rng.integers(0, len(small)))]
        image, label = real_line(cells[device], rng)
        images.append(image)
        labels.append(label)
    return images, labels
