"""``tokenmeter enrol --profile DIR PHOTO --value V``: add a confirmed reading to a
profile folder; ``read --profile DIR`` (``read_profile_sources``) reads with it.

A profile folder lets a profile be built and measured on photos of one display
outside the service (docs/profiles.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NoReturn

import click
import cv2
import numpy as np

from ocr.adapt import NOT_CONFIRMED, TOO_MANY_DIGITS, WRONG_DECIMALS
from ocr.reading import Image, Quad
from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    found_config_lang,
    lang_option,
)
from tokenmeter.commands.read import FileResult
from tokenmeter.profile import (
    MeterProfile,
    ProfileError,
    load_profile_dir,
    parse_quad,
    parse_value,
    save_profile_dir,
)
from tokenmeter.profile_reader import EnrolRefused, ProfileReader, enrol
from tokenmeter.texts import Lang

_WORDS: dict[str, dict[Lang, str]] = {
    "added": {
        "id": "Referensi ditambahkan: {text} ({count} referensi; layar {quad}).",
        "en": "Reference added: {text} ({count} references; display {quad}).",
    },
    "bad_box": {"id": "Kotak tidak sah: {detail}", "en": "Bad box: {detail}"},
    "bad_value": {"id": "Nilai tidak sah: {detail}", "en": "Bad value: {detail}"},
    "bad_profile": {"id": "Profil tidak terbaca: {detail}", "en": "Unreadable profile: {detail}"},
    "photo_missing": {"id": "Foto tidak ada: {detail}", "en": "Photo not found: {detail}"},
    "not_photo": {"id": "Bukan berkas gambar: {detail}", "en": "Not an image file: {detail}"},
    "box_outside": {
        "id": "Kotak di luar foto ({detail}): setiap sudut harus di dalam foto.",
        "en": "The box lies outside the photo ({detail}): every corner must be inside it.",
    },
    "no_display": {
        "id": "Tidak ada layar yang terbaca di foto ({detail}). Arahkan kamera ke layar "
        "meter atau beri kotak dengan --roi.",
        "en": "No readable display in the photo ({detail}). Aim the camera at the meter's "
        "display or give the box with --roi.",
    },
    "value_mismatch": {
        "id": "Nilai tidak cocok: pembaca melihat {detail} di foto, bukan {text}.",
        "en": "The value does not match: the reader sees {detail} in the photo, not {text}.",
    },
    "other_decimals": {
        "id": "Layar ini menampilkan {detail} angka desimal; {text} tidak.",
        "en": "This display shows {detail} decimals; {text} does not.",
    },
}

_REASONS: dict[str, str] = {  # ocr.adapt's reasons in Indonesian
    WRONG_DECIMALS: "jumlah desimal berbeda dari profil",
    TOO_MANY_DIGITS: "lebih banyak angka daripada yang ditampilkan layar",
    NOT_CONFIRMED: "ada karakter yang meragukan dan tidak mirip referensi",
}


def _fail(key: str, lang: Lang, **values: str) -> NoReturn:
    click.echo(_WORDS[key][lang].format(**values), err=True)
    raise SystemExit(EXIT_USAGE)


def _profile_or_fail(folder: Path, lang: Lang) -> MeterProfile:
    try:
        return load_profile_dir(folder)
    except ProfileError as err:
        _fail("bad_profile", lang, detail=str(err))


def _photo_or_fail(path: Path, lang: Lang) -> Image:
    if not path.is_file():
        _fail("photo_missing", lang, detail=str(path))
    decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if decoded is None:
        _fail("not_photo", lang, detail=str(path))
    return np.asarray(decoded, np.uint8)


def _quad_text(quad: Quad) -> str:
    return ",".join(f"{c:.0f}" for point in quad for c in point)


@click.command("enrol")
@click.argument("photo", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--profile",
    "folder",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Profile folder (profile.json + reference PNGs); created when missing.",
)
@click.option("--value", required=True, help="The value the meter shows in the photo, e.g. 123.45.")
@click.option(
    "--roi",
    default=None,
    metavar="x1,y1,x2,y2,x3,y3,x4,y4",
    help="Display corners (TL, TR, BR, BL) in pixels; default: the profile's, else found.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@lang_option
def enrol_command(photo: Path, folder: Path, value: str, roi: str | None, as_json: bool) -> None:
    """Add a confirmed photo of a display to a profile folder.

    Exit 0 when added, 2 when refused (bad box, a value the reader does not see in
    the photo, no display) or on a bad file.
    """
    lang = found_config_lang()
    try:
        quad = parse_quad(roi) if roi is not None else None
    except ProfileError as err:
        _fail("bad_box", lang, detail=str(err))
    try:
        text = parse_value(value)
    except ProfileError as err:
        _fail("bad_value", lang, detail=str(err))
    profile = _profile_or_fail(folder, lang)
    image = _photo_or_fail(photo, lang)
    try:
        enrolled = enrol(profile, image, text, roi=quad)
    except EnrolRefused as err:
        _fail(err.code, lang, detail=err.detail or "-", text=text)
    save_profile_dir(folder, enrolled.profile)
    count = len(enrolled.profile.references)
    if as_json:
        quad_list = [c for point in enrolled.quad for c in point]
        click.echo(json.dumps({"value": text, "references": count, "quad": quad_list}))
    else:
        click.echo(
            _WORDS["added"][lang].format(text=text, count=count, quad=_quad_text(enrolled.quad))
        )
    raise SystemExit(EXIT_OK)


def read_profile_sources(sources: tuple[str, ...], folder: Path, as_json: bool) -> NoReturn:
    """``tokenmeter read --profile DIR PATH...``: each photo read with the profile."""
    lang = found_config_lang()
    reader = ProfileReader(_profile_or_fail(folder, lang))
    statuses: set[str] = set()
    for source in sources:
        result = _read_one(reader, Path(source))
        statuses.add(result.status)
        if as_json:
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        elif lang == "id" and result.reading is not None and result.reading.reason in _REASONS:
            click.echo(
                result.as_line(lang).replace(result.reading.reason, _REASONS[result.reading.reason])
            )
        else:
            click.echo(result.as_line(lang), err=result.status == "error")
    if "error" in statuses:
        raise SystemExit(EXIT_USAGE)
    raise SystemExit(EXIT_UNREADABLE if "unreadable" in statuses else EXIT_OK)


def _read_one(reader: ProfileReader, path: Path) -> FileResult:
    if not path.is_file():
        return FileResult(str(path), "error", error="file not found")
    decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if decoded is None:
        return FileResult(str(path), "error", error="not an image file")
    started = time.perf_counter()
    reading = reader.read(np.asarray(decoded, np.uint8))
    return FileResult(str(path), reading.status, reading, (time.perf_counter() - started) * 1000)


COMMANDS: list[click.Command] = [enrol_command]
