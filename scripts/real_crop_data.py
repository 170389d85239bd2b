"""Training and validation lines from real display crops exported by tokenmeter.

``tokenmeter export-references DIR`` writes the confirmed display crops of real
meters (profile references: the owner's enrolment and corrections, readings the
service trusted; and the photos of readings the owner corrected, cut at the
display) as PNGs and ``labels.csv`` (``tokenmeter/dataset.py``). Those are
the whole real displays the reader's network never had: point and tenths layout,
glass, bezel and camera as a real install sees them. This module turns such
folders into the line network's training lines and into validation data of
meters held out whole.

Labels: the row's ``shown`` text (the characters displayed, leading zeros
included when lit) where the export knew it; else its ``value`` when the value
has as many digits as the display shows (``digits``), so no unlit or lit leading
position can differ; else the crop is left out (its displayed text is unknown).

Split by meter (``device``), never by file: ``split_crops`` holds out the meters
named, or else every fifth meter in a fixed order of their names' hashes (at
least one when there are two or more), so a training run is always validated on
displays it never saw. A folder is used only under the licence its owner wrote
into it; none of the project's shipped data comes from such a folder yet.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from ocr_line_data import damage  # scripts/, beside this file

from ocr.line_model import INPUT_HEIGHT, INPUT_WIDTH, prepare

Image = np.ndarray

HELD_OUT_EVERY = 5
"""Without names given, every fifth meter (by hash order) is held out."""


@dataclass(frozen=True)
class Crop:
    image: Image  # BGR, as exported
    label: str  # the characters displayed
    device: str


def crop_label(row: dict[str, str]) -> str | None:
    """The displayed text of one ``labels.csv`` row, or None when it is not known."""
    shown = (row.get("shown") or "").strip()
    if shown:
        return shown
    value = (row.get("value") or "").strip()
    digits = (row.get("digits") or "").strip()
    if value and digits.isdigit() and sum(c.isdigit() for c in value) == int(digits):
        return value
    return None


def load_crops(folders: Iterable[Path]) -> dict[str, list[Crop]]:
    """Every labelled crop of these export folders, by meter. A meter name that two
    folders share is one meter (the same install exported twice)."""
    by_device: dict[str, list[Crop]] = {}
    for folder in folders:
        with (folder / "labels.csv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        for row in rows:
            label = crop_label(row)
            image = cv2.imread(str(folder / row["file"]), cv2.IMREAD_COLOR)
            if label is None or image is None or image.size == 0:
                continue
            device = row["device"]
            by_device.setdefault(device, []).append(Crop(image, label, device))
    return by_device


def split_crops(
    crops: dict[str, list[Crop]], held_out: Sequence[str] = ()
) -> tuple[dict[str, list[Crop]], dict[str, list[Crop]]]:
    """(training meters, held-out meters)."""
    if held_out:
        held = set(held_out)
    else:
        order = sorted(crops, key=lambda d: hashlib.sha256(d.encode()).hexdigest())
        held = set(order[::HELD_OUT_EVERY]) if len(order) >= 2 else set()
    train = {d: c for d, c in crops.items() if d not in held}
    return train, {d: c for d, c in crops.items() if d in held}


def crop_line(crop: Crop, rng: np.random.Generator) -> Image:
    """One training view of a crop: the box a little tighter or looser (the locator's
    jitter), scaled to a random height and width, camera damage on a third."""
    image = crop.image.astype(np.float32)
    h = image.shape[0]
    top, bottom = (rng.uniform(-0.08, 0.08, 2) * h).round().astype(int)
    left, right = (rng.uniform(-0.04, 0.04, 2) * h).round().astype(int)
    padded = cv2.copyMakeBorder(
        image,
        max(0, -top),
        max(0, -bottom),
        max(0, -left),
        max(0, -right),
        cv2.BORDER_REPLICATE,
    )
    ph, pw = padded.shape[:2]
    view = padded[max(0, top) : ph - max(0, bottom), max(0, left) : pw - max(0, right)]
    out_h = int(rng.integers(20, 44))
    stretch = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    width = max(8, round(view.shape[1] * out_h / max(1, view.shape[0]) * stretch))
    view = cv2.resize(view, (width, out_h), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.33:
        return damage(view, rng)
    return np.clip(view, 0, 255).astype(np.uint8)


def crop_lines(
    crops: dict[str, list[Crop]], count: int, seed: int
) -> tuple[list[Image], list[str]]:
    """``count`` training views, meters drawn evenly (one with many references does
    not outweigh the rest), seeded."""
    rng = np.random.default_rng(seed)
    devices = sorted(d for d, c in crops.items() if c)
    images: list[Image] = []
    labels: list[str] = []
    for _ in range(count if devices else 0):
        pool = crops[devices[int(rng.integers(0, len(devices)))]]
        crop = pool[int(rng.integers(0, len(pool)))]
        images.append(crop_line(crop, rng))
        labels.append(crop.label)
    return images, labels


def _inputs(images: list[Image], dtype: type[np.floating]) -> np.ndarray:
    """The network's inputs for these images, one array."""
    if not images:
        return np.zeros((0, INPUT_HEIGHT, INPUT_WIDTH), dtype)
    return np.stack([prepare(i)[0, 0] for i in images]).astype(dtype)


def crop_sets(
    folders: Sequence[Path], held_out: Sequence[str], count: int, seed: int
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """For the training script: ``count`` views of the training meters' crops
    (float16 inputs) and their labels, then the held-out meters' crops as exported
    (float32 inputs) and theirs."""
    train, held = split_crops(load_crops(folders), held_out)
    images, labels = crop_lines(train, count, seed)
    kept = [c for device in sorted(held) for c in held[device]]
    return (
        _inputs(images, np.float16),
        labels,
        _inputs([c.image for c in kept], np.float32),
        [c.label for c in kept],
    )
