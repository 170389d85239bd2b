"""Calibrate the reader's gate on real held-out data: how often is a confident reading right?

    .venv/bin/python bench/ocr_calibrate.py [--model ocr/models/line_ctc.onnx] [--count 2000]
    .venv/bin/python bench/ocr_calibrate.py --crops DIR [--crops DIR ...] [--held-out METER ...]

The data: lines assembled from the real digit cells of the devices held out from
training (``scripts/real_line_data.py``, ``HELD_OUT``; seed 4242, the training
script's validation draw). Never the benchmark's real crops. Every line is read
the way ``ocr.reader.read_line_image`` reads it (three views that must agree), and
for each pair of thresholds (least character probability, most half-seen point
probability) the script reports coverage (share of lines read) and precision
(share of readings that are right). The gate's thresholds are the loosest pair
whose precision is at least ``TARGET`` on this data.

With ``--crops``, the data is instead the display crops of the held-out meters of
folders written by ``tokenmeter export-references`` (``scripts/real_crop_data.py``,
``split_crops``), each read once as exported.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import real_crop_data  # noqa: E402
import real_line_data  # noqa: E402

from ocr import line_model, reader  # noqa: E402

TARGET = 0.995
CONFIDENCES = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98)
POINT_DOUBTS = (0.05, 0.1, 0.2, 0.3, 0.5, 1.0)


@dataclass(frozen=True)
class Views:
    """What the three views of one line say."""

    truth: str  # the displayed text ("" for nothing to read)
    text: str  # the first view's text ("" when the views disagree or it is no number)
    confidence: float  # least character probability over all views
    point_doubt: float  # most half-seen point probability over all views


def read_views(image: real_line_data.Image, label: str) -> Views:
    truth = reader.displayed_text(label) if label else ""
    if reader._contrast(image) < reader.MIN_CONTRAST:
        return Views(truth, "", 0.0, 1.0)
    guess = line_model.read_line(image)
    if not guess.text or not reader.NUMBER.match(guess.text):
        return Views(truth, "", 0.0, 1.0)
    confidence, doubt = min(guess.char_confidences), guess.point_doubt
    for view in reader._other_views(image, guess):
        other = line_model.read_line(view)
        if other.text != guess.text:
            return Views(truth, "", 0.0, 1.0)
        confidence = min(confidence, *other.char_confidences)
        doubt = max(doubt, other.point_doubt)
    return Views(truth, reader.displayed_text(guess.text), confidence, doubt)


def table(views: list[Views]) -> list[tuple[float, float, int, int, int]]:
    """(confidence, point doubt, read, right, wrong) for every threshold pair."""
    rows = []
    for conf in CONFIDENCES:
        for doubt in POINT_DOUBTS:
            read = [v for v in views if v.text and v.confidence >= conf and v.point_doubt <= doubt]
            right = sum(v.text == v.truth for v in read)
            rows.append((conf, doubt, len(read), right, len(read) - right))
    return rows


def held_out_crops(
    folders: list[Path], held_out: list[str]
) -> tuple[list[real_line_data.Image], list[str]]:
    """The crops of the held-out meters of these export folders, as exported."""
    _train, held = real_crop_data.split_crops(real_crop_data.load_crops(folders), held_out)
    crops = [c for device in sorted(held) for c in held[device]]
    return [c.image for c in crops], [c.label for c in crops]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=line_model.MODEL_PATH)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--device", action="append", help="only these held-out devices")
    parser.add_argument(
        "--crops", type=Path, action="append", help="a folder of exported display crops"
    )
    parser.add_argument(
        "--held-out", action="append", default=[], help="with --crops: the meters held out"
    )
    args = parser.parse_args()
    line_model.MODEL_PATH = args.model  # read when this thread first builds its network
    if args.crops:
        images, labels = held_out_crops(args.crops, args.held_out)
    else:
        _train, held = real_line_data.split(real_line_data.load_cells())
        if args.device:
            held = {d: c for d, c in held.items() if d in args.device}
        images, labels = real_line_data.line_set(held, args.count, args.seed, kazuhito_share=0.0)
    views = [read_views(i, label) for i, label in zip(images, labels, strict=True)]
    readable = sum(bool(v.truth) for v in views)
    raw = sum(
        reader.displayed_text(line_model.read_line(i).text or "x") == v.truth
        for i, v in zip(images, views, strict=True)
        if v.truth
    )
    kind = "held-out meters' crops" if args.crops else "held-out lines"
    print(f"model {args.model}, {len(views)} {kind} ({readable} with digits)")
    print(f"raw first-view guess right: {raw} of {readable} ({raw / max(1, readable):.1%})")
    print("| least char prob | most point doubt | read | right | wrong | coverage | precision |")
    print("|---|---|---|---|---|---|---|")
    best = None
    for conf, doubt, read, right, wrong in table(views):
        precision = right / read if read else 1.0
        print(
            f"| {conf} | {doubt} | {read} | {right} | {wrong} | {right / max(1, readable):.1%} "
            f"| {precision:.2%} |"
        )
        if precision >= TARGET and (best is None or right > best[3]):
            best = (conf, doubt, read, right, wrong)
    print(f"loosest pair with precision >= {TARGET:.1%}: {best}")


if __name__ == "__main__":
    main()
