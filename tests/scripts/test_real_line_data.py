"""Tests of the real-cell line builder (scripts/real_line_data.py) on a small cell folder
made here: seven-segment cells drawn by the project's renderer, saved as a
``real-digits``-shaped folder (``labels.csv``, one PNG per cell)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from tests.scripts_loader import SCRIPTS, load_script
from tokenmeter.sim.render_lcd import Slot, draw_lcd
from tokenmeter.sim.render_style import random_style


@pytest.fixture(scope="module")
def data() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))  # real_line_data imports ocr_line_data beside it
    return load_script("real_line_data")


def _cell_folder(root: Path, devices: dict[str, int]) -> Path:
    """A labels.csv and cell images: ``count`` cells ("0"-"9" and blank) per device."""
    rows = ["file,label,device,source"]
    for n, (device, count) in enumerate(devices.items()):
        style = random_style(np.random.default_rng(n))
        for i in range(count):
            label = "blank" if i % 11 == 10 else str(i % 10)
            lcd = draw_lcd([Slot(" " if label == "blank" else label)], style, 40.0)
            name = f"{device}_{i}.png"
            cv2.imwrite(str(root / name), lcd.image.astype(np.uint8))
            rows.append(f"{name},{label},{device},src/{name}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_cells_load_by_device_with_fixes_and_exclusions(data: ModuleType, tmp_path: Path) -> None:
    """Excluded devices are left out; a fix relabels one file; blank becomes ""."""
    root = _cell_folder(tmp_path, {"meterA": 22, data.HELD_OUT[0]: 11, data.EXCLUDED[0]: 11})
    fixes = tmp_path / "fixes.tsv"
    fixes.write_text("file\told\tnew\tnote\nmeterA_3.png\t3\tblank\tunlit\n")
    cells = data.load_cells(root, fixes)
    assert set(cells) == {"meterA", data.HELD_OUT[0]}
    labels = [c.label for c in cells["meterA"]]
    assert labels[3] == "" and labels[10] == "" and labels[4] == "4"
    assert all(c.image.shape[0] == data.CELL_HEIGHT for c in cells["meterA"])
    train, held = data.split(cells)
    assert set(train) == {"meterA"} and set(held) == {data.HELD_OUT[0]}


def test_lines_are_seeded_and_labelled_as_numbers(data: ModuleType, tmp_path: Path) -> None:
    """Same seed, same lines; every label is digits with at most one point, or empty."""
    cells = data.load_cells(_cell_folder(tmp_path, {"meterA": 33, "meterB": 22}), tmp_path / "x")
    images, labels = data.line_set(cells, 60, seed=5)
    again, labels2 = data.line_set(cells, 60, seed=5)
    assert labels == labels2
    assert all(np.array_equal(a, b) for a, b in zip(images, again, strict=True))
    for image, label in zip(images, labels, strict=True):
        assert image.dtype == np.uint8 and image.ndim == 3 and 20 <= image.shape[0] <= 44
        assert re.fullmatch(r"(\d+(\.\d+)?|)", label), label
    assert any("." in label for label in labels)
    assert len(set(labels)) > 40


def test_a_line_of_blank_cells_has_an_empty_label(data: ModuleType, tmp_path: Path) -> None:
    """A device whose cells are all unlit gives lines with nothing to read."""
    root = _cell_folder(tmp_path, {"meterA": 22})
    fixes = tmp_path / "fixes.tsv"
    fixes.write_text(
        "file\told\tnew\tnote\n"
        + "".join(f"meterA_{i}.png\t{i % 10}\tblank\tunlit\n" for i in range(22))
    )
    cells = data.load_cells(root, fixes)
    _images, labels = data.line_set(cells, 10, seed=1)
    assert labels == [""] * 10
