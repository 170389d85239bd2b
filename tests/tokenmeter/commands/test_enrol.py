"""``tokenmeter enrol`` and ``tokenmeter read --profile`` through the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import pytest
from click.testing import CliRunner

from tests.ocr.fixed_camera import fixed_camera_photos
from tokenmeter.cli import main
from tokenmeter.commands.common import EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE
from tokenmeter.profile import load_profile_dir
from tokenmeter.sim import render_negative


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def photos(tmp_path: Path) -> list[tuple[Path, str]]:
    """Seven photos of one fixed camera (style 43): their paths and values."""
    written = []
    for index, photo in enumerate(fixed_camera_photos(43, 7)):
        path = tmp_path / f"photo{index}.png"
        cv2.imwrite(str(path), photo.image)
        written.append((path, photo.text))
    return written


def test_enrol_then_read_with_the_profile(tmp_path: Path, photos: list[tuple[Path, str]]) -> None:
    """One enrolled photo builds the folder; read --profile reads every other photo,
    also the one the reader refuses in the same box without the references."""
    folder = tmp_path / "profile"
    first, value = photos[0]
    comma = value.replace(".", ",")
    result = _invoke("enrol", "--profile", str(folder), str(first), "--value", comma)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.startswith(f"Referensi ditambahkan: {value} (1 referensi")
    profile = load_profile_dir(folder)
    assert profile.decimals == 1 and len(profile.references) == 1
    paths = [str(path) for path, _ in photos[1:]]
    result = _invoke("read", "--profile", str(folder), "--json", *paths)
    assert result.exit_code == EXIT_OK, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == [text for _, text in photos[1:]]
    assert profile.quad is not None
    box = ",".join(str(c) for point in profile.quad for c in point)
    plain = _invoke("read", "--roi", box, str(photos[2][0]))
    assert plain.exit_code == EXIT_UNREADABLE  # in the same box, without references


def test_enrol_is_repeatable_with_a_box(tmp_path: Path, photos: list[tuple[Path, str]]) -> None:
    """A second enrolment adds a reference; the box given is the profile's quad."""
    folder = tmp_path / "profile"
    _invoke("enrol", "--profile", str(folder), str(photos[0][0]), "--value", photos[0][1])
    quad = load_profile_dir(folder).quad
    assert quad is not None
    box = ",".join(f"{c:.1f}" for point in quad for c in point)
    path, value = photos[1]
    args = ["enrol", "--profile", str(folder), str(path), "--value", value, "--roi", box]
    result = _invoke(*args, "--json")
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["references"] == 2


@pytest.mark.parametrize(
    ("roi", "value", "message"),
    [
        ("1,2,3", None, "Kotak tidak sah: expected 8 numbers"),
        ("300,22,10,20,11,79,301,80", None, "Kotak tidak sah: the corners must go"),
        ("0,0,5000,0,5000,60,0,60", None, "Kotak di luar foto"),
        (None, "151.0", "Nilai tidak cocok: pembaca melihat 150.0 di foto, bukan 151.0."),
        (None, "15x", "Nilai tidak sah"),
    ],
)
def test_enrol_refusals(
    tmp_path: Path,
    photos: list[tuple[Path, str]],
    roi: str | None,
    value: str | None,
    message: str,
) -> None:
    """A bad box and a value the reader does not see are refused clearly; nothing is written."""
    folder = tmp_path / "profile"
    args = ["enrol", "--profile", str(folder), str(photos[0][0]), "--value", value or photos[0][1]]
    result = _invoke(*args, *(["--roi", roi] if roi else []))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output
    assert not (folder / "profile.json").exists()


def test_enrol_refuses_a_photo_without_display(tmp_path: Path) -> None:
    """A photo of a wall is refused with what to do, in English when asked."""
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), render_negative("wall", seed=3))
    folder = str(tmp_path / "p")
    result = _invoke("enrol", "--lang", "en", "--profile", folder, str(path), "--value", "1")
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith("No readable display in the photo")
    assert "--roi" in result.stderr


def test_read_with_a_broken_profile(tmp_path: Path, photos: list[tuple[Path, str]]) -> None:
    """A profile folder whose profile.json is not JSON is an error line, exit 2."""
    folder = tmp_path / "profile"
    folder.mkdir()
    (folder / "profile.json").write_text("{", encoding="utf-8")
    result = _invoke("read", "--profile", str(folder), str(photos[0][0]))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith("Profil tidak terbaca")
