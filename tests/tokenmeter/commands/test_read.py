"""``tokenmeter read``: JSON lines, exit codes, --roi and --debug-dir (real reader)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from click.testing import CliRunner

import ocr
from ocr.reading import Image
from tokenmeter.cli import main
from tokenmeter.commands.common import EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE
from tokenmeter.sim import LcdStyle, PhotoConditions, render_crop
from tokenmeter.sim.camera_server import SimulatedCameraServer
from tokenmeter.sim.meter import SimulatedMeter

PHOTOS = Path(__file__).resolve().parents[2] / "fixtures" / "photos"
LABELS: dict[str, dict[str, Any]] = json.loads((PHOTOS / "labels.json").read_text())
DARK = str(PHOTOS / "negative_dark_a.jpg")
KEYS = {"file", "status", "value", "text", "confidence", "ms"}


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, ["read", *args], catch_exceptions=False)


def _photo(path: Path | str) -> Image:
    """The photo at ``path`` as ``tokenmeter read`` decodes it (BGR uint8)."""
    decoded = cv2.imread(str(path))
    assert decoded is not None, f"cannot decode {path}"
    return np.asarray(decoded, np.uint8)


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def _clean_crop(tmp_path: Path, text: str = "123.45") -> Path:
    style = LcdStyle(positions=6, leading_zeros=False, ghost=0.0, lcd_label="")
    crop = render_crop(text, style, seed=1, conditions=PhotoConditions())
    image = cv2.resize(crop.image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "clean.png"
    cv2.imwrite(str(path), image)
    return path


def test_json_lines_match_the_reader() -> None:
    """One JSON object per photo, in order, saying what ocr.read_display says."""
    names = ["plain_green.jpg", "crop_b.jpg", "negative_wall_a.jpg"]
    result = _invoke("--json", *(str(PHOTOS / n) for n in names))
    lines = _lines(result.stdout)
    assert [Path(line["file"]).name for line in lines] == names
    for name, line in zip(names, lines, strict=True):
        reading = ocr.read_display(_photo(PHOTOS / name))
        assert set(line) == KEYS | ({"reason"} if reading.reason else set())
        assert line["status"] == reading.status
        assert line["value"] == reading.value
        assert line["text"] == reading.text
        assert line["ms"] >= 0


def _reader_status(path: Path) -> str:
    return ocr.read_display(_photo(path)).status


def test_exit_code_follows_the_readings(tmp_path: Path) -> None:
    """Exit 0 when every photo reads, 3 when any is unreadable (the reader decides which)."""
    photos = [_clean_crop(tmp_path), PHOTOS / "plain_green.jpg", PHOTOS / "crop_b.jpg"]
    for photo in photos:
        expected = EXIT_OK if _reader_status(photo) == "ok" else EXIT_UNREADABLE
        assert _invoke(str(photo)).exit_code == expected
    everything = _invoke(*(str(p) for p in photos), DARK)
    assert everything.exit_code == EXIT_UNREADABLE


def test_unreadable_photo_has_no_value() -> None:
    """A dark frame is reported unreadable, without a value, and the exit code is 3."""
    result = _invoke("--json", DARK)
    (line,) = _lines(result.stdout)
    assert (line["status"], line["value"], line["text"]) == ("unreadable", None, "")
    assert result.exit_code == EXIT_UNREADABLE


def test_missing_file_is_an_error_and_others_still_read(tmp_path: Path) -> None:
    """A missing path gives an error line and exit 2; the next photo is still read."""
    missing = tmp_path / "nope.jpg"
    clean = _clean_crop(tmp_path)
    result = _invoke("--json", str(missing), str(clean))
    first, second = _lines(result.stdout)
    assert first["status"] == "error"
    assert first["error"] == "file not found"
    assert first["value"] is None
    assert second["status"] == _reader_status(clean)
    assert result.exit_code == EXIT_USAGE


def test_undecodable_file_is_an_error(tmp_path: Path) -> None:
    """A file that is not an image is an error, not a crash."""
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a jpeg")
    result = _invoke("--json", str(junk))
    (line,) = _lines(result.stdout)
    assert (line["status"], line["error"]) == ("error", "not an image file")
    assert result.exit_code == EXIT_USAGE


def test_bad_roi_is_a_usage_error() -> None:
    """--roi needs 8 numbers enclosing an area; anything else exits 2 before reading."""
    for roi in ("1,2,3", "a,b,c,d,e,f,g,h", "0,0,0,0,0,0,0,0"):
        result = _invoke("--roi", roi, DARK)
        assert result.exit_code == EXIT_USAGE
        assert "--roi" in result.output


def test_roi_is_given_to_the_reader() -> None:
    """With --roi the reader reads inside that quad, as ocr.read_display(roi=...) does."""
    label = LABELS["roi_a.jpg"]
    quad = tuple(tuple(point) for point in label["quad"])
    roi = ",".join(f"{v:g}" for point in label["quad"] for v in point)
    result = _invoke("--json", "--roi", roi, str(PHOTOS / "roi_a.jpg"))
    (line,) = _lines(result.stdout)
    reading = ocr.read_display(cv2.imread(str(PHOTOS / "roi_a.jpg")), roi=quad)  # type: ignore[arg-type]
    assert (line["status"], line["value"]) == (reading.status, reading.value)


def test_debug_dir_gets_one_overlay_per_photo(tmp_path: Path) -> None:
    """--debug-dir writes a decodable overlay PNG per photo, unreadable ones included."""
    out = tmp_path / "debug"
    _invoke("--debug-dir", str(out), str(_clean_crop(tmp_path)), DARK)
    written = sorted(p.name for p in out.iterdir())
    assert written == ["clean.overlay.png", "negative_dark_a.overlay.png"]
    for name in written:
        overlay = cv2.imread(str(out / name))
        assert overlay is not None and overlay.shape[2] == 3
        assert np.ptp(overlay) > 0


def test_text_lines_in_indonesian_and_english(tmp_path: Path) -> None:
    """Without --json each photo gets one short line, Indonesian unless --lang en."""
    clean = _clean_crop(tmp_path)
    reading = ocr.read_display(_photo(clean))
    indonesian = _invoke(str(clean), DARK).stdout.splitlines()
    if reading.status == "ok":
        assert indonesian[0].startswith(f"{clean}: {reading.text} (keyakinan ")
    else:
        assert indonesian[0].startswith(f"{clean}: tidak terbaca ({reading.reason}")
    assert indonesian[1].startswith(f"{DARK}: tidak terbaca (")
    english = _invoke("--lang", "en", DARK, str(tmp_path / "gone.jpg"))
    assert english.stdout.startswith(f"{DARK}: unreadable (")
    assert f"{tmp_path / 'gone.jpg'}: error: file not found" in english.stderr


def test_unreadable_reason_in_the_language_of_the_run() -> None:
    """The reader's reason for an unreadable photo is Indonesian by default."""
    reason = ocr.read_display(_photo(DARK)).reason
    indonesian = _invoke(DARK).stdout
    english = _invoke("--lang", "en", DARK).stdout
    assert english == f"{DARK}: unreadable ({reason}, " + english.split(", ")[-1]
    assert reason not in indonesian and indonesian.startswith(f"{DARK}: tidak terbaca (")


def test_json_carries_the_unreadable_reason() -> None:
    """--json says why a photo is unreadable, in the reader's words."""
    (line,) = _lines(_invoke("--json", DARK).stdout)
    assert line["reason"] == ocr.read_display(_photo(DARK)).reason != ""


def test_a_camera_url_is_photographed_and_read(tmp_path: Path) -> None:
    """`read http://…/capture --debug-dir DIR` takes a photo now, reads it and writes
    its overlay, so the camera can be aimed."""
    camera = SimulatedCameraServer(SimulatedMeter("rumah", state_path=tmp_path / "m.json"))
    camera.start()
    try:
        result = _invoke("--json", camera.url, "--debug-dir", str(tmp_path / "out"))
    finally:
        camera.stop()
    (line,) = _lines(result.stdout)
    assert line["file"] == camera.url and line["status"] in ("ok", "unreadable")
    assert result.exit_code == (EXIT_OK if line["status"] == "ok" else EXIT_UNREADABLE)
    (overlay,) = (tmp_path / "out").iterdir()
    assert overlay.name == f"127.0.0.1_{camera.port}_capture.overlay.png"


def test_a_camera_that_does_not_answer_is_an_error_in_words(tmp_path: Path) -> None:
    """No camera at the URL: exit 2, the camera sentence in the language, the code in JSON."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/capture"
    sock.close()
    result = _invoke(url)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(f"{url}: kesalahan: Kamera tidak bisa dihubungi")
    (line,) = _lines(_invoke("--json", url).stdout)
    assert (line["status"], line["error"]) == ("error", "camera_unavailable")
