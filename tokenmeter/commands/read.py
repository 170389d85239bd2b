"""``tokenmeter read PATH|URL...``: read meter photos with the project's reader.

Many paths in one process, so the per-photo cost is the reading, not start-up. A
camera URL (``http://esp32cam.local/capture``) is photographed now, so a user can
aim the camera with ``--debug-dir`` showing what the reader saw.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
import cv2
import numpy as np
import numpy.typing as npt

import ocr
from ocr.reader import VIEWS_DISAGREE
from ocr.reading import DigitBox, Quad, Reading
from tokenmeter.commands.common import (
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    LOG_LEVEL,
    found_config_lang,
    lang_option,
)
from tokenmeter.devices import camera as camera_module
from tokenmeter.devices.camera import CameraClient, Snapshot
from tokenmeter.domain import Meter
from tokenmeter.errors import CameraUnavailable
from tokenmeter.texts import Lang, error_sentence

Status = Literal["ok", "unreadable", "error"]
STRIP_HEIGHT = 64  # the rectified display height DigitBox coordinates refer to
STRIP_ZOOM = 3
OVERLAY_MAX_WIDTH = 960
CAMERA_TIMEOUT_S = 8.0  # as [checks] camera_timeout_s by default
URL_SCHEMES = ("http://", "https://")

_WORDS: dict[str, dict[Lang, str]] = {
    "ok": {
        "id": "{file}: {text} (keyakinan {confidence:.0%}, {ms:.0f} ms)",
        "en": "{file}: {text} (confidence {confidence:.0%}, {ms:.0f} ms)",
    },
    "unreadable": {
        "id": "{file}: tidak terbaca ({reason}, {ms:.0f} ms)",
        "en": "{file}: unreadable ({reason}, {ms:.0f} ms)",
    },
    "error": {"id": "{file}: kesalahan: {error}", "en": "{file}: error: {error}"},
    "file not found": {"id": "berkas tidak ada", "en": "file not found"},
    "not an image file": {"id": "bukan berkas gambar", "en": "not an image file"},
    "roi_numbers": {
        "id": "perlu 8 angka: x1,y1,x2,y2,x3,y3,x4,y4",
        "en": "expected 8 numbers: x1,y1,x2,y2,x3,y3,x4,y4",
    },
    "roi_area": {
        "id": "keempat sudut tidak melingkupi bidang apa pun",
        "en": "the four corners enclose no area",
    },
}

_REASONS: dict[str, str] = {  # the reader's reasons (English) in Indonesian
    "no display found": "layar tidak ditemukan",
    "no contrast (dark frame or blank display)": "tanpa kontras (gambar gelap atau layar kosong)",
    "line model not installed": "model pembaca tidak terpasang",
    "no digits": "tidak ada angka",
    "display shows a message, not a number": "layar menampilkan pesan, bukan angka",
    "implausible number": "angka tidak masuk akal",
    "a character is ambiguous": "ada karakter yang meragukan",
    "a decimal point may be hidden": "titik desimal mungkin tersembunyi",
    VIEWS_DISAGREE: "dua tampilan baris tidak sama",
    "not an image": "bukan gambar",
    "more strokes beside the line (partial line?)": "ada goresan lain di samping baris "
    "(baris terpotong?)",
}


def reason_text(reason: str, lang: Lang) -> str:
    """The reader's reason for an unreadable photo in ``lang``."""
    if lang == "id":
        return _REASONS.get(reason, reason)
    return reason


@dataclass(frozen=True)
class FileResult:
    """What ``read`` found for one path."""

    file: str
    status: Status
    reading: Reading | None = None
    ms: float = 0.0
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        """The JSON line: file, status, value, text, confidence, ms (+ error)."""
        reading = self.reading
        line: dict[str, Any] = {
            "file": self.file,
            "status": self.status,
            "value": reading.value if reading else None,
            "text": reading.text if reading else "",
            "confidence": round(reading.confidence, 3) if reading else 0.0,
            "ms": round(self.ms, 1),
        }
        if reading is not None and reading.reason:
            line["reason"] = reading.reason
        if self.error:
            line["error"] = self.error
        return line

    def as_line(self, lang: Lang) -> str:
        """One short human line."""
        reading = self.reading
        return _WORDS[self.status][lang].format(
            file=self.file,
            text=reading.text if reading else "",
            confidence=reading.confidence if reading else 0.0,
            reason=reason_text(reading.reason, lang) if reading and reading.reason else "-",
            ms=self.ms,
            error=_error_text(self.error, lang),
        )


def _error_text(error: str, lang: Lang) -> str:
    if error in _WORDS:
        return _WORDS[error][lang]
    if error.startswith("camera_"):  # a camera URL that gave no photo: its reason in words
        return error_sentence(CameraUnavailable.from_reading_error(error), lang)
    return error


def parse_roi(value: str | None, lang: Lang = "en") -> Quad | None:
    """``x1,y1,x2,y2,x3,y3,x4,y4`` (TL, TR, BR, BL) as a quad; ``None`` when absent.
    A bad one is a ``click.BadParameter`` worded in ``lang``."""
    if value is None:
        return None
    try:
        numbers = [float(part) for part in value.split(",")]
    except ValueError as err:
        raise click.BadParameter(_WORDS["roi_numbers"][lang]) from err
    if len(numbers) != 8 or not all(np.isfinite(numbers)):
        raise click.BadParameter(_WORDS["roi_numbers"][lang])
    points = np.array(numbers).reshape(4, 2)
    if abs(cv2.contourArea(points.astype(np.float32))) < 4:
        raise click.BadParameter(_WORDS["roi_area"][lang])
    tl, tr, br, bl = ((float(x), float(y)) for x, y in points)
    return (tl, tr, br, bl)


def is_url(source: str) -> bool:
    return source.lower().startswith(URL_SCHEMES)


async def _snapshot(url: str) -> Snapshot:
    camera = CameraClient(timeout_s=CAMERA_TIMEOUT_S, retries=0)
    try:
        return await camera.snapshot(Meter(id="read", name="read", camera_url=url))
    finally:
        await camera.aclose()


def read_url(url: str, roi: Quad | None) -> tuple[FileResult, npt.NDArray[np.uint8] | None]:
    """Photograph a camera now (flash on, as a check does) and read the photo; a camera
    that gives no photo is an ``error`` result whose error is the reading error code."""
    try:
        snapshot = asyncio.run(_snapshot(url))
    except CameraUnavailable as err:
        return FileResult(url, "error", error=err.reading_error), None
    return _read_image(url, snapshot.image, roi)


def read_file(path: Path, roi: Quad | None) -> tuple[FileResult, npt.NDArray[np.uint8] | None]:
    """Decode and read one photo; a missing or undecodable file is an ``error`` result."""
    name = str(path)
    if not path.is_file():
        return FileResult(name, "error", error="file not found"), None
    decoded = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if decoded is None:
        return FileResult(name, "error", error="not an image file"), None
    return _read_image(name, np.asarray(decoded, dtype=np.uint8), roi)


def _read_image(
    name: str, image: npt.NDArray[np.uint8], roi: Quad | None
) -> tuple[FileResult, npt.NDArray[np.uint8]]:
    started = time.perf_counter()
    reading = ocr.read_display(image, roi=roi)
    ms = (time.perf_counter() - started) * 1000
    return FileResult(name, reading.status, reading, ms), image


def draw_overlay(image: npt.NDArray[np.uint8], reading: Reading) -> npt.NDArray[np.uint8]:
    """The photo with the display quad, above the rectified display with digit boxes,
    their characters and confidences, and the decimal point."""
    height, width = image.shape[:2]
    quad = reading.quad or ((0, 0), (width - 1, 0), (width - 1, height - 1), (0, height - 1))
    scale = min(1.0, OVERLAY_MAX_WIDTH / width)
    photo = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image.copy()
    corners = np.round(np.array(quad) * scale).astype(np.int32)
    colour = (0, 200, 0) if reading.status == "ok" else (0, 0, 230)
    cv2.polylines(photo, [corners], True, colour, 2, cv2.LINE_AA)
    caption = reading.text if reading.status == "ok" else f"unreadable: {reading.reason}"
    cv2.putText(photo, caption, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, colour, 2, cv2.LINE_AA)
    strip = _display_strip(image, quad, reading.digits)
    canvas_w = max(photo.shape[1], strip.shape[1])
    canvas = np.full((photo.shape[0] + strip.shape[0] + 8, canvas_w, 3), 32, np.uint8)
    canvas[: photo.shape[0], : photo.shape[1]] = photo
    canvas[photo.shape[0] + 8 :, : strip.shape[1]] = strip
    return canvas


def _display_strip(
    image: npt.NDArray[np.uint8], quad: Quad, digits: tuple[DigitBox, ...]
) -> npt.NDArray[np.uint8]:
    corners = np.array(quad, np.float32)
    quad_h = max(1.0, float(np.linalg.norm(corners[3] - corners[0])))
    quad_w = float(np.linalg.norm(corners[1] - corners[0]))
    width = max(8, round(STRIP_HEIGHT * quad_w / quad_h))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, STRIP_HEIGHT - 1], [0, STRIP_HEIGHT - 1]],
        np.float32,
    )
    matrix = cv2.getPerspectiveTransform(corners, target)
    flat = cv2.warpPerspective(image, matrix, (width, STRIP_HEIGHT), flags=cv2.INTER_LINEAR)
    zoomed = cv2.resize(
        flat, None, fx=STRIP_ZOOM, fy=STRIP_ZOOM, interpolation=cv2.INTER_NEAREST
    ).astype(np.uint8)
    for digit in digits:
        _draw_digit(zoomed, digit)
    return zoomed


def _draw_digit(canvas: npt.NDArray[np.uint8], digit: DigitBox) -> None:
    z = STRIP_ZOOM
    x0, y0, x1, y1 = digit.x * z, digit.y * z, (digit.x + digit.w) * z, (digit.y + digit.h) * z
    cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 220, 255), 1)
    label = f"{digit.char} {digit.confidence:.2f}"
    cv2.putText(canvas, label, (x0, max(10, y0 - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 220, 255))
    if digit.point_after:
        cv2.circle(canvas, (x1 + 2 * z, y1 - z), 2 * z, (0, 0, 255), -1)


def _roi_callback(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Quad | None:
    return parse_roi(value, found_config_lang())


@click.command("read")
@click.argument("sources", nargs=-1, required=True, metavar="PATH|URL...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--roi",
    callback=_roi_callback,
    metavar="x1,y1,x2,y2,x3,y3,x4,y4",
    help="Display corners (TL, TR, BR, BL) in pixels; default: find the display.",
)
@click.option(
    "--debug-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write an overlay PNG per photo (quad, digit boxes, decimal point) here.",
)
@click.option(
    "--profile",
    "profile_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Read with the display profile in this folder (see tokenmeter enrol).",
)
@lang_option
def read_command(
    sources: tuple[str, ...],
    as_json: bool,
    roi: Quad | None,
    debug_dir: Path | None,
    profile_dir: Path | None,
) -> None:
    """Read the kWh display in photos or from a camera URL.

    A camera URL is photographed now. For example, to aim the camera: tokenmeter read http://esp32cam.local/capture
    --debug-dir out/. Exit 0 when all are read, 3 when some are unreadable, 2 for
    errors (missing file, camera not answering).
    """
    if profile_dir is not None:
        from tokenmeter.commands.enrol import read_profile_sources  # imports this module

        read_profile_sources(sources, profile_dir, as_json)
    lang = found_config_lang()
    if click.get_current_context().meta.get(LOG_LEVEL) is None:
        # a camera's failure is told in the result line; its log warning would repeat it
        logging.getLogger(camera_module.__name__).setLevel(logging.ERROR)
    if debug_dir is not None:
        debug_dir.mkdir(parents=True, exist_ok=True)
    statuses: set[Status] = set()
    written: set[str] = set()
    for source in sources:
        result, image = read_url(source, roi) if is_url(source) else read_file(Path(source), roi)
        statuses.add(result.status)
        if as_json:
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            click.echo(result.as_line(lang), err=result.status == "error")
        if debug_dir is not None and image is not None and result.reading is not None:
            name = _unique(f"{_stem(source)}.overlay", written)
            cv2.imwrite(str(debug_dir / f"{name}.png"), draw_overlay(image, result.reading))
    if "error" in statuses:
        raise SystemExit(EXIT_USAGE)
    if "unreadable" in statuses:
        raise SystemExit(EXIT_UNREADABLE)
    raise SystemExit(EXIT_OK)


def _stem(source: str) -> str:
    """A file name for a photo's overlay: the file's stem, or the URL's host and path."""
    if not is_url(source):
        return Path(source).stem
    where = source.split("://", 1)[1].split("?", 1)[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", where).strip("_.") or "camera"


def _unique(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name}-{number}"
    taken.add(candidate)
    return candidate


COMMANDS: list[click.Command] = [read_command]
