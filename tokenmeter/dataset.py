"""Confirmed display crops of real meters, written out as a labelled data set.

Every meter profile keeps up to 12 references: rectified crops of the meter's
display with the value an owner confirmed (``enrol``, ``correction``) or the
service trusted (``learned``), docs/profiles.md. They are what the reader's
network lacks most: whole real displays with their decimal point, tenths digit,
glass and camera, labelled. A reference is only ever a crop the network already
reads as its value, so the photos of readings the owner corrected are exported
too (source ``correction-photo``, cut at the profile's box): those hold the
displays the network misread, which a reference never does. ``export_references``
writes both into a folder that ``scripts/real_crop_data.py`` trains and validates
from (docs/ocr-model.md).

The folder holds one PNG per reference under its meter's name and ``labels.csv``
(``CSV_FIELDS``). Exporting again into the same folder adds the references it
does not hold yet, so running it now and then keeps the ones that have since
made room for newer ones. Nothing else leaves the store: no token, chat, camera
address or reading history. The meter id is the ``device`` column, the unit a
training run holds out whole.

``shown`` is the text as the display shows it, the network's labels (leading
zeros included when lit): the network's own first guess on the crop when that
guess means the confirmed value, else empty (a training run then uses the value
only where no leading position can be lit, ``digits`` telling it).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from tokenmeter.domain import Reading, utcnow
from tokenmeter.profile import MeterProfile
from tokenmeter.store.base import Store
from tokenmeter.store.records import ts_text

CSV_FIELDS = ("file", "value", "shown", "device", "source", "ts", "digits")
LABELS = "labels.csv"
README = "README.md"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
CORRECTED = "correction"
"""The source of a reading the owner corrected (``tokenmeter correct``, ``/koreksi``)."""
PHOTO_SOURCE = "correction-photo"
SINCE = datetime(2000, 1, 1, tzinfo=UTC)

README_TEXT = """# Meter display crops exported by tokenmeter

Rectified crops of meter displays, each with the value its owner confirmed or the
service trusted (`tokenmeter export-references`). `labels.csv` columns:
`file` (PNG under the meter's folder), `value` (the confirmed kWh value),
`shown` (the characters as displayed, when known), `device` (the meter), `source`
(`enrol`, `correction` or `learned` for a profile reference; `correction-photo`
for the photo of a reading the owner corrected, cut at the display's box), `ts`
(UTC), `digits` (digit positions the display shows, when known).

Licence: none yet. Before sharing this folder, its owner chooses one (for
example CC0-1.0 or Apache-2.0) and writes it here.
"""


@dataclass(frozen=True)
class ExportedReferences:
    """What an export did: meters with a profile, crops written, crops already there."""

    meters: int
    written: int
    kept: int
    folder: Path


def _folder_name(meter_id: str) -> str:
    """The meter's folder: its id with anything unsafe in a file name replaced."""
    return _SAFE.sub("_", meter_id).strip("._") or "meter"


def _existing(labels: Path) -> set[str]:
    if not labels.is_file():
        return set()
    with labels.open(encoding="utf-8", newline="") as f:
        return {row["file"] for row in csv.DictReader(f) if row.get("file")}


@dataclass(frozen=True)
class _Item:
    """One crop to write: its file under the folder, how to get its PNG bytes (None:
    no crop to be had) and its label fields."""

    file: str
    png: Callable[[], bytes | None]
    value: str
    source: str
    ts: datetime


def _row(item: _Item, meter_id: str, profile: MeterProfile, shown: str) -> dict[str, str]:
    return {
        "file": item.file,
        "value": item.value,
        "shown": shown,
        "device": meter_id,
        "source": item.source,
        "ts": ts_text(item.ts),
        "digits": "" if profile.digits is None else str(profile.digits),
    }


def _items(
    sub: str,
    profile: MeterProfile,
    readings: list[Reading],
    crop_of: Callable[[Path, MeterProfile], bytes | None],
) -> list[_Item]:
    """The meter's references, then its corrected readings' photos (cut when written)."""
    items = [
        _Item(f"{sub}/{_folder_name(r.id)}.png", partial(bytes, r.png), r.text, r.source, r.ts)
        for r in profile.references
    ]
    for reading in readings:
        file = f"{sub}/photo-{_folder_name(reading.id)}.png"
        cut = partial(crop_of, Path(reading.photo), profile)
        items.append(_Item(file, cut, reading.text, PHOTO_SOURCE, reading.ts))
    return items


def _corrected(store: Store, meter_id: str) -> list[Reading]:
    """The meter's readings the owner corrected whose photo is still kept."""
    readings = store.readings_between(meter_id, SINCE, utcnow())
    return [r for r in readings if r.source == CORRECTED and r.photo and Path(r.photo).is_file()]


def export_references(
    store: Store,
    meter_ids: Iterable[str],
    folder: Path,
    shown_of: Callable[[bytes, str], str],
    crop_of: Callable[[Path, MeterProfile], bytes | None],
) -> ExportedReferences:
    """Write the references of these meters' profiles, and the photos of their
    corrected readings, into ``folder`` (created when there is something to write).

    ``shown_of(png, value)`` gives the displayed text of a crop, or "" when unsure;
    ``crop_of(photo, profile)`` cuts the display out of a kept photo as a PNG, or
    None (``tokenmeter.profile_reader.shown_on_crop`` and ``display_crop`` in the
    CLI). Crops already in the folder (by file) are kept as they are."""
    found = []
    for meter_id in meter_ids:
        profile = store.get_profile(meter_id) or MeterProfile()
        readings = _corrected(store, meter_id)
        if profile.references or readings:
            found.append((meter_id, profile, readings))
    if not found:
        return ExportedReferences(0, 0, 0, folder)  # nothing written, no folder made
    folder.mkdir(parents=True, exist_ok=True)
    labels = folder / LABELS
    present = _existing(labels)
    rows: list[dict[str, str]] = []
    kept = 0
    for meter_id, profile, readings in found:
        sub = _folder_name(meter_id)
        for item in _items(sub, profile, readings, crop_of):
            if item.file in present:
                kept += 1
                continue
            png = item.png()
            if png is None:  # a photo with no display to cut: nothing to label
                continue
            (folder / sub).mkdir(exist_ok=True)
            (folder / item.file).write_bytes(png)
            rows.append(_row(item, meter_id, profile, shown_of(png, item.value)))
            present.add(item.file)
    new_file = not labels.is_file()
    with labels.open("a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new_file:
            writer.writeheader()
        writer.writerows(rows)
    if not (folder / README).exists():
        (folder / README).write_text(README_TEXT, encoding="utf-8")
    return ExportedReferences(len(found), len(rows), kept, folder)
