"""Confirmed display crops of real meters, written out as a labelled data set.

Every meter profile keeps up to 12 references: rectified crops of the meter's
display with the value an owner confirmed (``enrol``, ``correction``) or the
service trusted (``learned``), docs/profiles.md. They are what the reader's
network lacks most: whole real displays with their decimal point, tenths digit,
glass and camera, labelled. ``export_references`` writes them into a folder that
``scripts/real_crop_data.py`` trains and validates from (docs/ocr-model.md).

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
from pathlib import Path

from tokenmeter.profile import MeterProfile, Reference
from tokenmeter.store.base import Store

CSV_FIELDS = ("file", "value", "shown", "device", "source", "ts", "digits")
LABELS = "labels.csv"
README = "README.md"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

README_TEXT = """# Meter display crops exported by tokenmeter

Rectified crops of meter displays, each with the value its owner confirmed or the
service trusted (`tokenmeter export-references`). `labels.csv` columns:
`file` (PNG under the meter's folder), `value` (the confirmed kWh value),
`shown` (the characters as displayed, when known), `device` (the meter), `source`
(`enrol`, `correction` or `learned`), `ts` (UTC), `digits` (digit positions the
display shows, when known).

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


def _row(
    meter_id: str,
    profile: MeterProfile,
    reference: Reference,
    file: str,
    shown_of: Callable[[bytes, str], str],
) -> dict[str, str]:
    return {
        "file": file,
        "value": reference.text,
        "shown": shown_of(reference.png, reference.text),
        "device": meter_id,
        "source": reference.source,
        "ts": reference.ts.isoformat().replace("+00:00", "Z"),
        "digits": "" if profile.digits is None else str(profile.digits),
    }


def export_references(
    store: Store,
    meter_ids: Iterable[str],
    folder: Path,
    shown_of: Callable[[bytes, str], str],
) -> ExportedReferences:
    """Write the references of these meters' profiles into ``folder`` (created).

    ``shown_of(png, value)`` gives the displayed text of a crop, or "" when unsure
    (``tokenmeter.profile_reader.shown_on_crop`` in the CLI). References already in
    the folder (by file) are kept as they are and not written again."""
    profiles = [(m, store.get_profile(m)) for m in meter_ids]
    found = [(m, p) for m, p in profiles if p is not None and p.references]
    if not found:
        return ExportedReferences(0, 0, 0, folder)  # nothing written, no folder made
    folder.mkdir(parents=True, exist_ok=True)
    labels = folder / LABELS
    present = _existing(labels)
    rows: list[dict[str, str]] = []
    kept = 0
    for meter_id, profile in found:
        sub = _folder_name(meter_id)
        for reference in profile.references:
            file = f"{sub}/{_folder_name(reference.id)}.png"
            if file in present:
                kept += 1
                continue
            (folder / sub).mkdir(exist_ok=True)
            (folder / file).write_bytes(reference.png)
            rows.append(_row(meter_id, profile, reference, file, shown_of))
            present.add(file)
    new_file = not labels.is_file()
    with labels.open("a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        if new_file:
            writer.writeheader()
        writer.writerows(rows)
    if not (folder / README).exists():
        (folder / README).write_text(README_TEXT, encoding="utf-8")
    return ExportedReferences(len(found), len(rows), kept, folder)
