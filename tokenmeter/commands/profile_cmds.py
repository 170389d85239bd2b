"""``tokenmeter setup-camera`` (aim a meter's camera, enrol its first reference),
``tokenmeter correct`` (the owner's value for the last reading) and
``tokenmeter export-references`` (the references as a labelled data set) —
docs/profiles.md."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import NoReturn

import click

from tokenmeter.app import build_core
from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    chosen_lang,
    cli_config,
    config_option,
    lang_option,
    user_errors,
)
from tokenmeter.config import Config
from tokenmeter.dataset import export_references
from tokenmeter.domain import utcnow
from tokenmeter.profile import ProfileError, parse_quad, parse_value
from tokenmeter.profile_reader import Enrolled, EnrolRefused, display_crop, shown_on_crop
from tokenmeter.services.camera_setup import (
    CameraSetup,
    SetupShot,
    problem_sentence,
    refusal_sentence,
)
from tokenmeter.services.profiles import Correction, CorrectionRefused
from tokenmeter.store.factory import open_store
from tokenmeter.texts import Lang, format_kwh, format_number

_WORDS: dict[str, dict[Lang, str]] = {
    "overlay": {
        "id": "Foto dengan kotak layar: {path}",
        "en": "Photo with the display box: {path}",
    },
    "read": {"id": "Terbaca: {value} kWh.", "en": "Read: {value} kWh."},
    "unread": {"id": "Tidak terbaca ({reason}).", "en": "Not read ({reason})."},
    "confirm_hint": {
        "id": "Jika benar, jalankan lagi dengan --confirm; jika tidak, dengan --value "
        "(angka di layar meter).",
        "en": "If right, run again with --confirm; if not, with --value (the number on "
        "the meter's display).",
    },
    "enrolled": {
        "id": "Referensi pertama disimpan: {value} ({count} referensi).",
        "en": "First reference stored: {value} ({count} references).",
    },
    "bad_box": {"id": "Kotak tidak sah: {detail}", "en": "Bad box: {detail}"},
    "bad_value": {"id": "Nilai tidak sah: {detail}", "en": "Bad value: {detail}"},
    "corrected": {
        "id": "Pembacaan terakhir dikoreksi: {was} → {value} kWh.",
        "en": "Last reading corrected: {was} → {value} kWh.",
    },
    "reference_added": {
        "id": "Fotonya menjadi referensi ({count} referensi).",
        "en": "Its photo became a reference ({count} references).",
    },
    "reference_refused": {
        "id": "Fotonya tidak menjadi referensi: {why}",
        "en": "Its photo did not become a reference: {why}",
    },
    "exported": {
        "id": "{written} potongan layar dari {meters} meteran ditulis ke {folder}"
        " ({kept} sudah ada). Pilih lisensinya di README.md sebelum dibagikan.",
        "en": "{written} display crops of {meters} meters written to {folder}"
        " ({kept} already there). Choose its licence in README.md before sharing it.",
    },
    "no_references": {
        "id": "Belum ada referensi atau koreksi: jalankan setup-camera atau correct dulu.",
        "en": "No references or corrections yet: run setup-camera or correct first.",
    },
    "no_reading": {
        "id": "Belum ada pembacaan untuk dikoreksi; jalankan tokenmeter check dulu.",
        "en": "No reading to correct yet; run tokenmeter check first.",
    },
}


def _say(key: str, lang: Lang, **values: object) -> str:
    return _WORDS[key][lang].format(**values)


def _fail(text: str) -> NoReturn:
    click.echo(text, err=True)
    raise SystemExit(EXIT_USAGE)


async def _setup(
    config: Config,
    meter_id: str,
    roi: str | None,
    value: str | None,
    confirm: bool,
    flash: bool | None,
) -> tuple[SetupShot, Path, Enrolled | EnrolRefused | None]:
    quad = parse_quad(roi) if roi is not None else None
    async with build_core(config) as core:
        setup = CameraSetup(core.checks)
        shot = await setup.take(meter_id, quad, flash=flash)
        folder = config.store.photo_dir / shot.meter_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"setup-{utcnow():%Y%m%dT%H%M%S}.png"
        path.write_bytes(shot.overlay_png)
        enrolled: Enrolled | EnrolRefused | None = None
        if value is not None or confirm:
            try:
                enrolled = await setup.confirm(shot, value)
            except EnrolRefused as err:
                enrolled = err
        return shot, path, enrolled


@click.command("setup-camera")
@click.option("--meter", "meter_id", default=None, help="Meter id (default: the first).")
@click.option(
    "--roi",
    default=None,
    metavar="x1,y1,x2,y2,x3,y3,x4,y4",
    help="Display corners (TL, TR, BR, BL) in pixels; default: found in the photo.",
)
@click.option("--value", default=None, help="The value the meter shows now, e.g. 123,45.")
@click.option("--confirm", is_flag=True, help="The reading shown is right: enrol it.")
@click.option(
    "--flash/--no-flash",
    default=None,
    help="Photograph with the flash LED on or off; kept in the profile when enrolled "
    "(default: the profile's setting, on).",
)
@config_option
@lang_option
@user_errors
def setup_camera_command(
    meter_id: str | None,
    roi: str | None,
    value: str | None,
    confirm: bool,
    flash: bool | None,
    config_path: Path | None,
) -> None:
    """Aim the camera: photograph, find the display, draw it.

    Writes an overlay photo (the found box and the reading). With --value or
    --confirm the photo becomes the meter's first reference. Exit 0 when read (or
    enrolled), 3 when nothing was read, 2 when refused.
    """
    config = cli_config(config_path)
    lang = chosen_lang(config)
    meter = config.meter(meter_id)  # UnknownMeter: one line, exit 2
    if roi is not None:
        try:
            parse_quad(roi)
        except ProfileError as err:
            _fail(_say("bad_box", lang, detail=err))
    if value is not None:
        try:
            value = parse_value(value)
        except ProfileError as err:
            _fail(_say("bad_value", lang, detail=err))
    try:
        shot, path, enrolled = asyncio.run(_setup(config, meter.id, roi, value, confirm, flash))
    except EnrolRefused as err:  # the box does not fit the photo
        _fail(refusal_sentence(err, value or "", lang))
    click.echo(_say("overlay", lang, path=path))
    if shot.text:
        click.echo(_say("read", lang, value=format_kwh(float(shot.text), lang)))
    else:
        click.echo(_say("unread", lang, reason=shot.reading.reason or "-"))
    for problem in shot.problems:
        click.echo(problem_sentence(problem, lang))
    if isinstance(enrolled, EnrolRefused):
        _fail(refusal_sentence(enrolled, value or shot.text, lang))
    if enrolled is not None:
        text = enrolled.profile.references[-1].text
        count = len(enrolled.profile.references)
        click.echo(_say("enrolled", lang, value=text, count=count))
    elif shot.text:
        click.echo(_say("confirm_hint", lang))
    raise SystemExit(EXIT_OK if shot.text or enrolled is not None else EXIT_UNREADABLE)


async def _correct(config: Config, meter_id: str, value: str) -> Correction:
    async with build_core(config) as core:
        return await asyncio.to_thread(core.checks.profiles.correct, meter_id, value)


@click.command("correct")
@click.argument("value")
@click.option("--meter", "meter_id", default=None, help="Meter id (default: the first).")
@config_option
@lang_option
@user_errors
def correct_command(value: str, meter_id: str | None, config_path: Path | None) -> None:
    """Correct the last reading to the value the meter showed.

    For example 123,45.

    The history is corrected and the reading's photo becomes a reference when it
    shows that value. Exit 0 corrected, 2 refused.
    """
    config = cli_config(config_path)
    lang = chosen_lang(config)
    meter = config.meter(meter_id)
    try:
        correction = asyncio.run(_correct(config, meter.id, value))
    except CorrectionRefused as err:
        if err.reason == "no_reading":
            _fail(_say("no_reading", lang))
        _fail(_say("bad_value", lang, detail=err.detail))
    reading = correction.reading
    was = format_kwh(float(correction.was), lang) if correction.was else "?"
    click.echo(_say("corrected", lang, was=was, value=format_kwh(reading.kwh, lang)))
    if correction.refused is None:
        click.echo(_say("reference_added", lang, count=correction.references))
    else:
        why = refusal_sentence(correction.refused, reading.text, lang)
        click.echo(_say("reference_refused", lang, why=why))
    raise SystemExit(EXIT_OK)


@click.command("export-references", short_help="Write the confirmed display crops as a data set.")
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option("--meter", "meter_id", default=None, help="Only this meter (default: every meter).")
@config_option
@lang_option
@user_errors
def export_references_command(folder: Path, meter_id: str | None, config_path: Path | None) -> None:
    """Write the confirmed display crops of the meters' profiles into DIR.

    One PNG per reference and per photo of a corrected reading, and labels.csv
    (value, displayed text, meter, source, time): data to train and check the
    reader on (docs/ocr-model.md). Running it again adds only the crops DIR does
    not hold yet. No token, chat or camera address is written. Exit 0 written,
    2 refused, 3 no reference or correction yet.
    """
    config = cli_config(config_path)
    lang = chosen_lang(config)
    store = open_store(config)  # appends the meters kept in the store to config.meters
    try:
        ids = [config.meter(meter_id).id] if meter_id else [m.id for m in config.meters]
        try:
            done = export_references(store, ids, folder, shown_on_crop, display_crop)
        except OSError as err:
            _fail(f"{folder}: {err.strerror or err}")
    finally:
        store.close()
    if done.written + done.kept == 0:
        click.echo(_say("no_references", lang))
        raise SystemExit(EXIT_UNREADABLE)
    words = {
        k: format_number(v, 0, lang)
        for k, v in (("written", done.written), ("meters", done.meters), ("kept", done.kept))
    }
    click.echo(_say("exported", lang, folder=folder, **words))
    raise SystemExit(EXIT_OK)


COMMANDS: list[click.Command] = [
    setup_camera_command,
    correct_command,
    export_references_command,
]
