"""Benchmark meter profiles: sequences of photos of one display, read without a
profile, with the profile's quad only, after one confirmed reading and after three.

    .venv/bin/python bench/enrol.py [--rendered 40] [--real 40] [--length 12]
        [--rendered-seed 5000] [--out FILE]

Sets: (a) rendered: one ``tokenmeter.sim`` meter style per sequence, the camera
jittered between shots (aim ±1 %, rotation ±0.5°, light, noise), the balance
falling; (b) real: lines assembled from the real digit cells of one device held out
from the network's training (``scripts/real_line_data.HELD_OUT``) with a
layout fixed per sequence (digit count, decimals, gaps, width, margins, backlight),
so that consecutive photos show one display with other real cells of the same
digits; each line is set on a fixed spot of a 640×480 photo, shifted ±3 px.

Per sequence, photos 0-2 are the confirmations (``profile_reader.enrol``; a refused
one is retaken, i.e. the next photo is tried) and photos 3.. are scored by every
column alike. Exact: the reading is the photo's value; wrong: a value given that is
not. Enrolment of the rendered set finds the display; the real set is given the
box the line was set in (as ``setup-camera --roi`` would be). Setup time: a
rendered snapshot (JPEG) to the overlay PNG of ``setup-camera`` (decode, find and
read the display, photo checks, overlay drawn and encoded).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import ocr  # noqa: E402
from ocr.adapt import ENGINE as ADAPTED  # noqa: E402
from ocr.aiming import draw_overlay, photo_problems  # noqa: E402
from ocr.reader import displayed_text  # noqa: E402
from ocr.reading import Image, Quad, Reading  # noqa: E402
from tests.ocr.fixed_camera import fixed_camera_photos  # noqa: E402
from tokenmeter.profile import MeterProfile  # noqa: E402
from tokenmeter.profile_reader import EnrolRefused, ProfileReader, enrol  # noqa: E402

COLUMNS = ("no profile", "quad only", "after 1", "after 3")
CONFIRMED = 3  # photos 0..2 may be confirmed; 3.. are scored
RENDERED_SEED0 = 5000  # sequences seeded away from the tests' styles (4, 18, ...)
REAL_SEED0 = 9000
MIXED = ("kazuhito00",)  # cells from many meters: no one display to learn


@dataclass(frozen=True)
class Photo:
    image: Image
    text: str  # the displayed value, as the reader writes it ("123.45")
    box: Quad | None = None  # the display's box, when known (real set)


@dataclass
class Tally:
    exact: int = 0
    wrong: int = 0
    total: int = 0
    wrong_examples: list[str] = field(default_factory=list)

    def add(self, reading: Reading, truth: str, where: str) -> None:
        self.total += 1
        if reading.status == "ok" and reading.text == truth:
            self.exact += 1
        elif reading.status == "ok":
            self.wrong += 1
            self.wrong_examples.append(f"{where}: read {reading.text}, shows {truth}")

    def cell(self) -> str:
        if not self.total:
            return "-"
        return (
            f"{100 * self.exact / self.total:.1f} % ({self.exact}/{self.total}) "
            f"/ {100 * self.wrong / self.total:.1f} % ({self.wrong})"
        )


# -- the sequences ---------------------------------------------------------------------
def rendered_sequence(seed: int, length: int) -> list[Photo]:
    """One rendered meter style, a fixed camera with jitter, the balance falling."""
    return [
        Photo(photo.image, displayed_text(photo.text))
        for photo in fixed_camera_photos(seed, length, start=None)
    ]


def real_sequence(cells: list[object], seed: int, length: int) -> list[Photo]:
    """One device's real cells in one fixed layout; the value falls between photos."""
    import real_line_data as rl

    rng = np.random.default_rng(seed)
    by_char: dict[str, list[rl.Cell]] = {}
    for cell in cells:
        assert isinstance(cell, rl.Cell)
        by_char.setdefault(cell.label, []).append(cell)
    positions = int(rng.choice([4, 5, 6]))
    decimals = int(rng.choice([1, 2]))
    gap = float(rng.uniform(0.05, 0.25)) * rl.CELL_HEIGHT
    width_scale = float(np.exp(rng.uniform(np.log(0.8), np.log(1.2))))
    out_h = int(rng.integers(60, 110))  # a camera mounted close: the display fills more
    tint_seed = int(rng.integers(0, 2**31)) if rng.random() < 0.5 else None
    place = (int(rng.integers(20, 120)), int(rng.integers(60, 300)))
    frame = float(rng.uniform(20, 90))
    value = float(rng.uniform(10 ** (positions - decimals - 1), 10 ** (positions - decimals)))
    trims = rng.uniform(0.0, 0.1, (positions, 2))  # fixed cut of each position's sides
    photos = []
    for _ in range(length):
        digits = f"{value:.{decimals}f}".replace(".", "").rjust(positions, " ")
        parts, label = [], ""
        for k, char in enumerate(digits):
            pool = by_char.get("" if char == " " else char) or by_char.get("", [])
            cell = pool[int(rng.integers(0, len(pool)))]
            w = cell.image.shape[1]
            extra = 0.18 if cell.device.startswith(rl.COMMA_DEVICES) else 0.0
            a, b = int((trims[k, 0] + extra) * w), w - int((trims[k, 1] + extra) * w)
            im = cell.image[:, a : max(a + 4, b)].astype(np.float32)
            size = (max(4, round(im.shape[1] * width_scale)), rl.CELL_HEIGHT)
            im = np.asarray(cv2.resize(im, size), np.float32)
            if k == positions - decimals:
                label += "."
                parts.append(("point", im))
            elif k:
                parts.append(("gap", im))
            parts.append(("digit", im))
            label += char.strip()
        images = [im for kind, im in parts if kind == "digit"]
        background, ink = rl._background(images), rl._ink(images)
        row: list[np.ndarray] = []
        for kind, im in parts:
            if kind == "point":
                room = max(3, round(gap + 0.12 * rl.CELL_HEIGHT))
                spot = rl._fill((rl.CELL_HEIGHT, room), background, rng)
                radius = max(1, round(0.06 * rl.CELL_HEIGHT))
                centre = (room // 2, rl.CELL_HEIGHT - radius - 2)
                cv2.circle(spot, centre, radius, tuple(float(v) for v in ink), -1, cv2.LINE_AA)
                row.append(spot)
            elif kind == "gap":
                row.append(rl._fill((rl.CELL_HEIGHT, max(1, round(gap))), background, rng))
            else:
                row.append(im)
        line = np.hstack(row)
        pad = round(0.25 * rl.CELL_HEIGHT)
        framed = rl._fill((line.shape[0] + 2 * pad, line.shape[1] + 2 * pad), background, rng)
        framed[pad : pad + line.shape[0], pad : pad + line.shape[1]] = line
        if tint_seed is not None:
            framed = rl._tint(framed, np.random.default_rng(tint_seed))
        size = (round(framed.shape[1] * out_h / framed.shape[0]), out_h)
        framed = cv2.resize(np.clip(framed, 0, 255), size, interpolation=cv2.INTER_AREA)
        photo = np.full((480, 640, 3), frame, np.float32)
        x0 = min(place[0] + int(rng.integers(-3, 4)), 640 - size[0] - 1)
        y0 = place[1] + int(rng.integers(-3, 4))
        photo[y0 : y0 + size[1], x0 : x0 + size[0]] = framed
        photo += rng.normal(0, 2.5, photo.shape).astype(np.float32)
        image = np.clip(photo, 0, 255).astype(np.uint8)
        bx0, by0 = max(0, place[0] - 6), max(0, place[1] - 6)
        bx1, by1 = min(639, place[0] + size[0] + 6), min(479, place[1] + size[1] + 6)
        box: Quad = ((bx0, by0), (bx1, by0), (bx1, by1), (bx0, by1))
        photos.append(Photo(image, displayed_text(label), box))
        value = max(10 ** (positions - decimals - 1), value - float(rng.uniform(0.1, 2.0)))
    return photos


# -- scoring -----------------------------------------------------------------------------
@dataclass
class SetResult:
    tallies: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in COLUMNS})
    retakes: int = 0  # confirmations refused (the next photo was confirmed instead)
    unenrolled: int = 0  # sequences where no photo could be confirmed
    ms: list[float] = field(default_factory=list)  # reading with the 3-reference profile
    adapted: int = 0  # readings "after 3" a reference confirmed (engine line-model+references)
    tracked: int = 0  # readings "after 3" from the line tracked near the quad


def score_sequence(photos: list[Photo], result: SetResult, name: str, use_box: bool) -> None:
    profiles: list[MeterProfile] = []
    profile = MeterProfile()
    for photo in photos[:CONFIRMED]:
        try:
            roi = photo.box if use_box else None
            profile = enrol(profile, photo.image, photo.text, roi=roi).profile
            profiles.append(profile)
        except EnrolRefused:
            result.retakes += 1
    if not profiles:  # no profile can be built: the meter is read as before
        result.unenrolled += 1
        for index, photo in enumerate(photos[CONFIRMED:], start=CONFIRMED):
            reading = ocr.read_display(photo.image)
            result.tallies["no profile"].add(reading, photo.text, f"{name}#{index}")
        return
    quad_only = ProfileReader(replace(profiles[0], references=(), decimals=None, digits=None))
    readers: dict[str, Callable[[Image], Reading]] = {
        "no profile": ocr.read_display,
        "quad only": quad_only.read,
        "after 1": ProfileReader(profiles[0]).read,
        "after 3": ProfileReader(profiles[-1]).read,
    }
    for index, photo in enumerate(photos[CONFIRMED:], start=CONFIRMED):
        for column, read in readers.items():
            started = time.perf_counter()
            reading = read(photo.image)
            if column == "after 3":
                result.ms.append((time.perf_counter() - started) * 1000)
                result.adapted += reading.status == "ok" and reading.engine == ADAPTED
                quad = profiles[-1].quad
                result.tracked += reading.status == "ok" and reading.quad != quad
            result.tallies[column].add(reading, photo.text, f"{name}#{index}")


def setup_ms(photo: Photo) -> float:
    """Snapshot JPEG → overlay PNG, as setup-camera does it."""
    ok, jpeg = cv2.imencode(".jpg", photo.image)
    assert ok
    started = time.perf_counter()
    image = np.asarray(cv2.imdecode(np.frombuffer(jpeg.tobytes(), np.uint8), 1), np.uint8)
    reading = ocr.read_display(image)
    problems = photo_problems(image, reading.quad)
    label = reading.text if reading.status == "ok" else "?"
    overlay = draw_overlay(image, reading.quad, label, ok=not problems)
    cv2.imencode(".png", overlay)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", type=int, default=40, help="rendered sequences")
    parser.add_argument("--real", type=int, default=40, help="real-cell sequences")
    parser.add_argument("--length", type=int, default=12, help="photos per sequence")
    parser.add_argument(
        "--rendered-seed",
        type=int,
        default=RENDERED_SEED0,
        help="style seed of the first rendered sequence (a fresh range is a held-out set)",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the report here")
    args = parser.parse_args()
    started = time.perf_counter()
    results: dict[str, SetResult] = {}
    setup: list[float] = []
    rendered = results.setdefault("rendered", SetResult())
    for n in range(args.rendered):
        seed = args.rendered_seed + n
        photos = rendered_sequence(seed, args.length)
        setup.append(setup_ms(photos[0]))
        score_sequence(photos, rendered, f"rendered-{seed}", use_box=False)
    devices: list[str] = []
    if args.real:
        import real_line_data as rl

        if rl.CELLS.is_dir():
            _train, cells = rl.split(rl.load_cells())  # devices the network never saw
            devices = sorted(
                d
                for d, c in cells.items()
                if d not in MIXED and {x.label for x in c} >= set("0123456789")
            )
            real = results.setdefault("real cells", SetResult())
            for n in range(args.real):
                device = devices[n % len(devices)]
                photos = real_sequence(list(cells[device]), REAL_SEED0 + n, args.length)
                score_sequence(photos, real, f"{device}-{REAL_SEED0 + n}", use_box=True)
    report = _report(args, results, setup, devices, time.perf_counter() - started)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")


def _report(
    args: argparse.Namespace,
    results: dict[str, SetResult],
    setup: list[float],
    devices: list[str],
    seconds: float,
) -> str:
    lines = [
        "# bench/enrol.py",
        "",
        f"`.venv/bin/python bench/enrol.py --rendered {args.rendered} --real {args.real} "
        f"--length {args.length} --rendered-seed {args.rendered_seed}`; "
        f"{platform.python_version()}, {platform.machine()}, "
        f"{seconds:.0f} s.",
        "",
        "Scored: photos 3.. of each sequence (0-2 are the confirmations); the profile "
        "columns only where a profile could be enrolled, 'no profile' on every sequence. "
        "Cells: exact % (n) / wrong % (n).",
        "",
        "| set | " + " | ".join(COLUMNS) + " | retakes | not enrolled | ms (after 3) "
        "| after 3: confirmed by references / tracked |",
        "|---|" + "---|" * (len(COLUMNS) + 4),
    ]
    for name, result in results.items():
        cells = [result.tallies[c].cell() for c in COLUMNS]
        ms = f"{statistics.median(result.ms):.0f}" if result.ms else "-"
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {result.retakes} | {result.unenrolled} "
            f"| {ms} | {result.adapted} / {result.tracked} |"
        )
    if setup:
        lines += [
            "",
            f"Setup, snapshot JPEG → overlay PNG ({len(setup)} rendered snapshots): "
            f"{statistics.median(setup):.0f} ms median, {max(setup):.0f} ms max.",
        ]
    if devices:
        lines += ["", "Real devices (in turn): " + ", ".join(devices) + "."]
    for name, result in results.items():
        for column in COLUMNS:
            examples = result.tallies[column].wrong_examples
            if examples:
                lines += ["", f"Wrong, {name}, {column}:"] + [f"- {e}" for e in examples]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
