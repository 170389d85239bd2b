"""Benchmark the meter reader against tesseract and ssocr, side by side, in one run.

    .venv/bin/python bench/ocr.py [--limit N] [--json] [--rendered 300] [--dataset DIR]

Sets: (a) photos rendered in-process by tokenmeter.sim (seeded; mostly whole
640x480 photos, some larger, some crops), (b) the real crops in
``../shared/datasets/lcd-meter-crops`` scored on their audited labels (``audit.tsv``:
crops a person cannot read are left out), (c) lines assembled from the real digit
cells of the devices held out from training (``scripts/real_line_data.py``) and
(d) those devices' single cells (a blank cell's right answer is no value); (b)-(d)
are skipped, with a message, when ``../shared`` is absent.
Every engine sees the same images, unprocessed. Per engine and set: exact
readings, wrong readings emitted (a value given, but wrong), no value, and median
ms per photo. tesseract is plain pytesseract (psm 7, digits whitelist); ssocr is
the Debian binary out of the box (``ssocr -d -1 FILE``) plus a tuned variant.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ocr  # noqa: E402
from tokenmeter.sim import random_style, render_crop, render_negative, render_photo  # noqa: E402
from tokenmeter.sim.render import NegativeKind, RenderedPhoto  # noqa: E402

Image = npt.NDArray[np.uint8]
DATASET = ROOT.parent / "shared" / "datasets" / "lcd-meter-crops"
SEED = 2024
HELD_OUT_SEED = 777
"""Seed of the held-out real lines; training validates on another (4242)."""
"""The rendered set's seed; development sets (bench/ocr_dev.py) never use it."""
LARGE_SIZES = ((800, 600), (1024, 768), (1280, 960), (1600, 1200))
NUMBER = re.compile(r"^\d+(\.\d+)?$")
TESSERACT_CONFIG = "--psm 7 -c tessedit_char_whitelist=0123456789."
OURS = "tokenmeter reader"
TESSERACT = "tesseract (psm 7, digits)"
SSOCR_PLAIN = ("ssocr", "-d", "-1")
SSOCR_TUNED = ("ssocr", "-d", "-1", "-T", "-c", "decimal", "remove_isolated")


@dataclass(frozen=True)
class Sample:
    """One benchmark image with its true value."""

    name: str
    image: Image
    value: float | None  # None: nothing to read, the right answer is no value
    kind: str  # "640x480", "large", "crop", "real" or "negative"
    path: Path  # the same image as a PNG file, for ssocr


@dataclass
class Tally:
    """One engine on one set."""

    exact: int = 0
    wrong: int = 0
    no_value: int = 0
    ms: list[float] = field(default_factory=list)
    ms_640: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        total = self.exact + self.wrong + self.no_value
        return {
            "photos": total,
            "exact": self.exact,
            "exact_rate": self.exact / total if total else 0.0,
            "wrong": self.wrong,
            "wrong_rate": self.wrong / total if total else 0.0,
            "no_value": self.no_value,
            "median_ms": statistics.median(self.ms) if self.ms else None,
            "median_ms_640x480": statistics.median(self.ms_640) if self.ms_640 else None,
            "misses": self.misses[:20],
        }


Engine = Callable[[Sample], float | None]


def parse_number(text: str) -> float | None:
    """An engine's output as a value, or None unless it is a plain number."""
    cleaned = "".join(text.split())
    return float(cleaned) if NUMBER.match(cleaned) else None


def read_ours(sample: Sample) -> float | None:
    """The project's reader."""
    return ocr.read_display(sample.image).value


def read_tesseract(sample: Sample) -> float | None:
    """Plain pytesseract on the unprocessed image."""
    import pytesseract

    rgb = cv2.cvtColor(sample.image, cv2.COLOR_BGR2RGB)
    try:
        text = pytesseract.image_to_string(rgb, config=TESSERACT_CONFIG)
    except pytesseract.TesseractError:  # tesseract crashes on a few tiny crops: no value
        return None
    return parse_number(text)


def ssocr_engine(args: tuple[str, ...]) -> Engine:
    """The ssocr binary with these arguments, on the sample's PNG file."""

    def read(sample: Sample) -> float | None:
        done = subprocess.run(
            [*args, str(sample.path)], capture_output=True, text=True, timeout=20, check=False
        )
        return parse_number(done.stdout) if done.returncode == 0 else None

    return read


def rendered_photo(seed: int, index: int) -> tuple[RenderedPhoto, str]:
    """Photo ``index`` of the seeded rendered set and its kind: 80 % whole 640x480,
    10 % larger, 10 % crops."""
    rng = np.random.default_rng([seed, index])
    style = random_style(rng)
    decimals = min(style.decimals, style.positions - 1)
    whole_digits = int(rng.integers(1, style.positions - decimals + 1))
    value = float(rng.uniform(0, 10**whole_digits))
    text = f"{value:.{decimals}f}"
    if len(text.replace(".", "")) > style.positions:  # rounding added a digit
        text = f"{value / 10:.{decimals}f}"
    slot = index % 10
    photo_seed = seed * 100_000 + index
    if slot == 8:
        return render_crop(text, style, seed=photo_seed), "crop"
    if slot == 9:
        size = LARGE_SIZES[int(rng.integers(len(LARGE_SIZES)))]
        return render_photo(text, style, seed=photo_seed, size=size), "large"
    return render_photo(text, style, seed=photo_seed), "640x480"


def rendered_set(count: int, seed: int, folder: Path) -> list[Sample]:
    """``count`` seeded photos (see ``rendered_photo``)."""
    samples = []
    for index in range(count):
        photo, kind = rendered_photo(seed, index)
        samples.append(_sample(f"rendered_{index:04d}", photo.image, photo.value, kind, folder))
    return samples


def negative_set(count: int, seed: int, folder: Path) -> list[Sample]:
    """Frames with nothing to read (640x480), in turn: a dark frame, a blank LCD, a
    bare wall, a meter showing every segment (its display test) and one showing
    dashes (a message)."""
    kinds = ("dark", "blank_lcd", "wall", "all_segments", "dashes")
    samples = []
    for index in range(count):
        kind = kinds[index % len(kinds)]
        photo_seed = seed * 7_000 + index
        if kind in ("all_segments", "dashes"):
            style = random_style(np.random.default_rng([seed, index, 1]))
            text = ("8" if kind == "all_segments" else "-") * style.positions
            image = render_photo(text, style, seed=photo_seed).image
        else:
            image = render_negative(cast(NegativeKind, kind), seed=photo_seed)
        name = f"negative_{index:03d}_{kind}"
        samples.append(_sample(name, np.asarray(image, np.uint8), None, "negative", folder))
    return samples


def _audited_labels(folder: Path) -> list[tuple[str, str]]:
    """(file, label) of every crop: ``audit.tsv``'s corrected label, crops no person can
    read left out; ``gt.txt`` as it is when there is no audit."""
    audit = folder / "audit.tsv"
    if audit.is_file():
        rows = [line.split("\t") for line in audit.read_text().splitlines()[1:] if line.strip()]
        return [(r[0], r[3]) for r in rows if len(r) > 3 and r[2] != "UNREADABLE" and r[3]]
    gt = folder / "gt.txt"
    if not gt.is_file():
        return []
    return [line.strip().partition("\t")[::2] for line in gt.read_text().splitlines()]


def real_crops(folder: Path, limit: int | None, out: Path) -> list[Sample] | None:
    """The labelled real crops; None when the folder is absent; missing files skipped."""
    if not (folder / "gt.txt").is_file():
        return None
    samples = []
    for name, label in _audited_labels(folder):
        path = folder / name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if name and path.is_file() else None
        if image is None or not label:
            continue
        samples.append(_sample(name, np.asarray(image, np.uint8), float(label), "real", out))
        if limit is not None and len(samples) >= limit:
            break
    return samples


def held_out_sets(count: int, out: Path) -> dict[str, list[Sample]] | None:
    """Lines and single cells of the real-digit devices held out from training; None
    when ``../shared/datasets/real-digits`` is absent."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import real_line_data

    if not (real_line_data.CELLS / "labels.csv").is_file():
        return None
    _train, held = real_line_data.split(real_line_data.load_cells())
    images, labels = real_line_data.line_set(held, count, HELD_OUT_SEED, kazuhito_share=0.0)
    lines = [
        _sample(f"line{i}", image, float(label) if label else None, "real", out)
        for i, (image, label) in enumerate(zip(images, labels, strict=True))
    ]
    cells = [
        _sample(f"{device}-{i}", cell.image, float(cell.label) if cell.label else None, "real", out)
        for device, device_cells in sorted(held.items())
        for i, cell in enumerate(device_cells)
    ]
    return {"held-out real lines": lines, "held-out real cells": cells}


def _sample(name: str, image: Image, value: float | None, kind: str, folder: Path) -> Sample:
    path = folder / f"{Path(name).stem}.png"
    cv2.imwrite(str(path), image)
    return Sample(name, image, value, kind, path)


def run(engine: Engine, samples: list[Sample]) -> Tally:
    """Every sample through one engine, timed one by one."""
    tally = Tally()
    for sample in samples:
        started = time.perf_counter()
        value = engine(sample)
        ms = (time.perf_counter() - started) * 1000
        tally.ms.append(ms)
        if sample.kind == "640x480":
            tally.ms_640.append(ms)
        if sample.value is None:
            if value is None:
                tally.exact += 1
            else:
                tally.wrong += 1
                tally.misses.append(f"{sample.name}: read {value:g} on a negative")
        elif value is None:
            tally.no_value += 1
            tally.misses.append(f"{sample.name}: no value (truth {sample.value:g})")
        elif abs(value - sample.value) < 1e-6:
            tally.exact += 1
        else:
            tally.wrong += 1
            tally.misses.append(f"{sample.name}: read {value:g}, truth {sample.value:g}")
    return tally


def machine() -> str:
    """CPU model and core count of this machine, and the libraries the reader runs on
    (its figures move a little between OpenCV releases)."""
    model = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}, NumPy {np.__version__}"
    )


def _format_table(name: str, results: dict[str, dict[str, Any]]) -> str:
    rows = [f"\n## {name}", "", "| engine | exact | wrong emitted | no value | median ms |"]
    rows.append("|---|---|---|---|---|")
    for engine, s in results.items():
        rows.append(
            f"| {engine} | {s['exact_rate']:.1%} ({s['exact']}/{s['photos']}) "
            f"| {s['wrong_rate']:.1%} ({s['wrong']}) | {s['no_value']} "
            f"| {_ms(s['median_ms'])} |"
        )
    return "\n".join(rows)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def markdown(report: dict[str, Any]) -> str:
    """The report as Markdown (what ``bench/results/ocr.md`` holds)."""
    lines = [
        "# OCR benchmark: tokenmeter reader vs tesseract vs ssocr",
        "",
        f"- command: `{report['command']}`",
        f"- machine: {report['machine']}",
        "- all engines see the same unprocessed images, one after another, in one run",
    ]
    for set_name, data in report["sets"].items():
        lines.append(_format_table(f"{set_name} {data['kinds']}", data["results"]))
    ours, speedup = report["median_ms_640x480"], report["speedup_vs_tesseract_640x480"]
    tess = report["sets"]["rendered"]["results"][TESSERACT]["median_ms_640x480"]
    lines += ["", f"Reader median per 640x480 photo: {_ms(ours)} ms (tesseract {_ms(tess)} ms)."]
    if speedup:
        lines.append(f"The reader is {speedup:.1f}x faster than tesseract on 640x480 photos.")
    for set_name, data in report["sets"].items():
        misses = data["results"][OURS]["misses"]
        if misses:
            lines += ["", f"Reader misses on {set_name} (first 20):", ""]
            lines += [f"- {miss}" for miss in misses]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="at most N photos per set")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--rendered", type=int, default=300, help="size of the rendered set")
    parser.add_argument("--negatives", type=int, default=30, help="frames with nothing to read")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--held-out", type=int, default=500, help="held-out real lines")
    parser.add_argument("--dataset", type=Path, default=DATASET, help="real crops folder")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown here")
    args = parser.parse_args()
    engines: dict[str, Engine] = {
        OURS: read_ours,
        TESSERACT: read_tesseract,
        "ssocr -d -1": ssocr_engine(SSOCR_PLAIN),
        "ssocr -d -1 -T -c decimal remove_isolated": ssocr_engine(SSOCR_TUNED),
    }
    command = " ".join([".venv/bin/python", *sys.argv])
    report: dict[str, Any] = {"machine": machine(), "command": command, "sets": {}}
    with tempfile.TemporaryDirectory(prefix="tokenmeter-bench-") as tmp:
        folder = Path(tmp)
        count = min(args.rendered, args.limit) if args.limit else args.rendered
        sets: dict[str, list[Sample]] = {"rendered": rendered_set(count, args.seed, folder)}
        real = real_crops(args.dataset, args.limit, folder)
        if real is None:
            print(f"{args.dataset} not found: skipping the real crops", file=sys.stderr)
        else:
            sets["real crops"] = real
        held = held_out_sets(min(args.held_out, args.limit or args.held_out), folder)
        if held is None:
            print("real-digits not found: skipping the held-out real sets", file=sys.stderr)
        else:
            sets.update(held)
        negatives = min(args.negatives, args.limit) if args.limit else args.negatives
        if negatives:
            sets["negatives (exact = unreadable)"] = negative_set(negatives, args.seed, folder)
        for set_name, samples in sets.items():
            kinds = {
                k: sum(s.kind == k for s in samples) for k in sorted({s.kind for s in samples})
            }
            results = {name: run(engine, samples).summary() for name, engine in engines.items()}
            report["sets"][set_name] = {"kinds": kinds, "results": results}
    rendered = report["sets"]["rendered"]["results"]
    ours = rendered[OURS]["median_ms_640x480"]
    tess = rendered[TESSERACT]["median_ms_640x480"]
    report["median_ms_640x480"] = ours
    report["speedup_vs_tesseract_640x480"] = tess / ours if ours and tess else None
    text = markdown(report)
    if args.out:
        args.out.write_text(text)
    print(json.dumps(report, indent=1) if args.json else text)


if __name__ == "__main__":
    main()
