"""``export_references``: a profile's references written as a labelled data set, on a
real SQLite store, with references enrolled from photos of a rendered fixed camera."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from tests.ocr.fixed_camera import fixed_camera_photos
from tests.tokenmeter.store.contract import make_reading
from tokenmeter.dataset import CSV_FIELDS, LABELS, PHOTO_SOURCE, README, export_references
from tokenmeter.profile import MeterProfile
from tokenmeter.profile_reader import display_crop, enrol, shown_on_crop
from tokenmeter.store.sqlite import SqliteStore


def _profile(style_seed: int, count: int, start: MeterProfile | None = None) -> MeterProfile:
    """``start`` (or a new profile) with references of the first ``count`` photos it
    lacks: the same photos always, so a profile grows by the next one."""
    profile = start or MeterProfile()
    for photo in fixed_camera_photos(style_seed, count)[len(profile.references) :]:
        profile = enrol(profile, photo.image, photo.text).profile
    return profile


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / LABELS).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_export_writes_crops_and_labels_then_adds_only_new_ones(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "tm.db")
    profile = _profile(43, 2)
    store.put_profile("kamar/1", profile)
    out = tmp_path / "data"
    done = export_references(store, ["kamar/1", "kamar-2"], out, shown_on_crop, display_crop)
    assert (done.meters, done.written, done.kept) == (1, 2, 0)
    rows = _rows(out)
    assert list(rows[0]) == list(CSV_FIELDS)
    assert [r["value"] for r in rows] == [r.text for r in profile.references]
    assert {r["device"] for r in rows} == {"kamar/1"} and {r["source"] for r in rows} == {"enrol"}
    assert all(r["file"].startswith("kamar_1/ref-") for r in rows)  # no "/" from the id
    for row, reference in zip(rows, profile.references, strict=True):
        image = cv2.imread(str(out / row["file"]), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 0
        assert (out / row["file"]).read_bytes() == reference.png
        assert row["digits"] == str(profile.digits)
        assert row["ts"].endswith("Z")
    assert "Licence" in (out / README).read_text(encoding="utf-8")

    more = _profile(43, 3, profile)  # one reference more
    store.put_profile("kamar/1", more)
    again = export_references(store, ["kamar/1"], out, shown_on_crop, display_crop)
    assert (again.written, again.kept) == (1, 2)
    assert len(_rows(out)) == 3 and len({r["file"] for r in _rows(out)}) == 3
    store.close()


def test_shown_text_is_the_networks_guess_only_when_it_means_the_value() -> None:
    profile = _profile(43, 1)
    reference = profile.references[0]
    shown = shown_on_crop(reference.png, reference.text)
    assert shown.lstrip("0") in (reference.text, reference.text.lstrip("0"))
    assert shown_on_crop(reference.png, "999.9") == ""
    assert shown_on_crop(b"not a png", reference.text) == ""
    blank = cv2.imencode(".png", np.full((48, 200, 3), 128, np.uint8))[1].tobytes()
    assert shown_on_crop(blank, "0") == ""


def test_no_profile_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "tm.db")
    store.put_profile("rumah", MeterProfile(decimals=2))  # a profile without references
    done = export_references(
        store, ["rumah", "other"], tmp_path / "data", shown_on_crop, display_crop
    )
    assert (done.meters, done.written, done.kept) == (0, 0, 0)
    assert not (tmp_path / "data").exists()
    store.close()


def test_corrected_readings_photos_are_cut_at_the_display(tmp_path: Path) -> None:
    """A corrected reading's kept photo is exported cut at the display (the profile's
    box, or found when there is no profile), labelled with the owner's value; a
    corrected reading whose photo is gone or broken, and an uncorrected one, are not."""
    photos = fixed_camera_photos(43, 3)
    store = SqliteStore(tmp_path / "tm.db")
    kept = tmp_path / "photos"
    kept.mkdir()
    for n, photo in enumerate(photos):
        cv2.imwrite(str(kept / f"{n}.jpg"), photo.image)
    (kept / "broken.jpg").write_bytes(b"not a jpeg")
    corrected = {"source": "correction", "text": "120.00"}
    store.add_reading(make_reading("k1", 0, 120.0, photo=str(kept / "0.jpg"), **corrected))
    store.add_reading(make_reading("k1", 10, 120.0, photo=str(kept / "1.jpg")))  # not corrected
    store.add_reading(make_reading("k1", 20, 120.0, photo=str(kept / "gone.jpg"), **corrected))
    store.add_reading(make_reading("k1", 30, 120.0, photo=str(kept / "broken.jpg"), **corrected))
    store.add_reading(make_reading("k2", 0, 120.0, photo=str(kept / "2.jpg"), **corrected))
    store.put_profile("k2", _profile(43, 1))  # k2 has a box; k1 has no profile at all
    out = tmp_path / "data"
    done = export_references(store, ["k1", "k2"], out, shown_on_crop, display_crop)
    rows = _rows(out)
    photo_rows = [r for r in rows if r["source"] == PHOTO_SOURCE]
    assert [(r["file"], r["value"]) for r in photo_rows] == [
        ("k1/photo-r00000.png", "120.00"),
        ("k2/photo-r00000.png", "120.00"),
    ]
    assert (done.meters, done.written) == (2, 3)  # k2's reference, two photos
    for row in photo_rows:
        crop = cv2.imread(str(out / row["file"]), cv2.IMREAD_COLOR)
        assert crop is not None and crop.shape[0] == 48 and crop.shape[1] > 48
    store.close()
