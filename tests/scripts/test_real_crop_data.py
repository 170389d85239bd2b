"""Tests of the exported-crop line builder (scripts/real_crop_data.py) on a folder
written by ``tokenmeter.dataset.export_references`` from profiles enrolled on
photos of rendered fixed cameras."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.ocr.fixed_camera import fixed_camera_photos
from tests.scripts_loader import SCRIPTS, load_script
from tokenmeter.dataset import export_references
from tokenmeter.profile import MeterProfile
from tokenmeter.profile_reader import display_crop, enrol, shown_on_crop
from tokenmeter.store.sqlite import SqliteStore


@pytest.fixture(scope="module")
def data() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))  # real_crop_data imports ocr_line_data beside it
    return load_script("real_crop_data")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of three meters, two references each."""
    root = tmp_path_factory.mktemp("export")
    store = SqliteStore(root / "tm.db")
    for meter, seed in (("k1", 43), ("k2", 4), ("k3", 7)):
        profile = MeterProfile()
        for photo in fixed_camera_photos(seed, 2):
            profile = enrol(profile, photo.image, photo.text).profile
        store.put_profile(meter, profile)
    store.close()
    store = SqliteStore(root / "tm.db")
    export_references(store, ["k1", "k2", "k3"], root / "data", shown_on_crop, display_crop)
    store.close()
    return root / "data"


def test_label_rule(data: ModuleType) -> None:
    """The displayed text when known; else the value only when it fills the display."""
    assert data.crop_label({"shown": "00123.4", "value": "123.4", "digits": "6"}) == "00123.4"
    assert data.crop_label({"shown": "", "value": "123.4", "digits": "4"}) == "123.4"
    assert data.crop_label({"shown": "", "value": "123.4", "digits": "6"}) is None
    assert data.crop_label({"shown": "", "value": "123.4", "digits": ""}) is None


def test_load_split_and_lines(data: ModuleType, folder: Path) -> None:
    crops = data.load_crops([folder])
    with (folder / "labels.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    known = [r for r in rows if data.crop_label(r) is not None]
    assert sum(len(c) for c in crops.values()) == len(known) > 0
    assert {c.label for cs in crops.values() for c in cs} == {data.crop_label(r) for r in known}
    train, held = data.split_crops(crops)
    assert len(held) == 1 and not set(train) & set(held)
    assert set(train) | set(held) == set(crops)
    named_train, named_held = data.split_crops(crops, ["k2"])
    assert set(named_held) == {"k2"} and "k2" not in named_train
    images, labels = data.crop_lines(train, 40, seed=5)
    again, labels_again = data.crop_lines(train, 40, seed=5)
    assert labels == labels_again and all(
        (a == b).all() for a, b in zip(images, again, strict=True)
    )
    assert set(labels) <= {c.label for cs in train.values() for c in cs}
    assert all(im.dtype.name == "uint8" and 20 <= im.shape[0] < 44 for im in images)
    assert data.crop_lines({}, 10, seed=5) == ([], [])


def test_crop_sets_for_training(data: ModuleType, folder: Path) -> None:
    """Views of the training meters as network inputs, the held-out meter's crops as
    exported, and nothing held out leaves an empty (but well-shaped) set."""
    train_x, train_y, held_x, held_y = data.crop_sets([folder], ["k1"], 30, seed=2)
    crops = data.load_crops([folder])
    assert train_x.shape == (30, 32, 256) and train_x.dtype.name == "float16"
    assert len(train_y) == 30 and set(train_y) <= {c.label for c in crops["k2"] + crops["k3"]}
    assert held_x.shape == (len(crops["k1"]), 32, 256) and held_y == [c.label for c in crops["k1"]]
    _x, _y, none_x, none_y = data.crop_sets([folder], ["nobody"], 5, seed=2)
    assert none_x.shape == (0, 32, 256) and none_y == []
