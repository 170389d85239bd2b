"""Compare the reader's own line network with a pretrained text recogniser (PP-OCR).

    .venv/bin/pip install rapidocr onnxruntime   # offline comparison only
    .venv/bin/python bench/ocr_pretrained.py [--count 600] [--model ocr/models/line_ctc.onnx]

Data: real lines and single cells of the real-digit devices held out from
training (``scripts/real_line_data.py``; lines seed 4242, the calibration draw).
For each engine: the raw first guess (exact displayed value), then how many it
reads when only its confident readings count, at the loosest confidence whose
precision is at least 99.5 % on this data, and the median time per line. PP-OCR
runs recognition only (no detection), as rapidocr ships it (PP-OCRv6 small).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import real_line_data  # noqa: E402

from ocr import line_model, reader  # noqa: E402

TARGET = 0.995
Guess = tuple[str, float]  # (displayed text or "", confidence)


def _clean(text: str) -> str:
    """A guess as a displayed number ("" when it is none)."""
    text = text.replace(",", ".").replace(" ", "")
    return reader.displayed_text(text) if reader.NUMBER.match(text) else ""


def ours(image: np.ndarray) -> Guess:
    guess = line_model.read_line(image)
    return _clean(guess.text), min(guess.char_confidences, default=0.0)


def ppocr() -> Callable[[np.ndarray], Guess]:
    from rapidocr import RapidOCR  # offline comparison only, not a project dependency

    engine = RapidOCR()

    def read(image: np.ndarray) -> Guess:
        result = engine(image, use_det=False, use_cls=False, use_rec=True)
        texts, scores = result.txts or ("",), result.scores or (0.0,)
        return _clean(str(texts[0])), float(scores[0])

    return read


def evaluate(
    name: str, engine: Callable[[np.ndarray], Guess], data: list[tuple[np.ndarray, str]]
) -> str:
    guesses, times = [], []
    for image, _truth in data:
        started = time.perf_counter()
        guesses.append(engine(image))
        times.append((time.perf_counter() - started) * 1000)
    truths = [t for _, t in data]
    raw = sum(g == t for (g, _), t in zip(guesses, truths, strict=True))
    best = (1.01, 0, 0)
    for threshold in sorted({c for _, c in guesses}, reverse=True):
        read = [(g, t) for (g, c), t in zip(guesses, truths, strict=True) if g and c >= threshold]
        right = sum(g == t for g, t in read)
        if read and right / len(read) >= TARGET:
            best = (threshold, right, len(read) - right)
    return (
        f"| {name} | {raw} ({raw / len(data):.1%}) | {best[1]} ({best[1] / len(data):.1%}) "
        f"at ≥ {best[0]:.3f}, {best[2]} wrong | {statistics.median(times):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--model", type=Path, default=line_model.MODEL_PATH)
    args = parser.parse_args()
    line_model.MODEL_PATH = args.model
    _train, held = real_line_data.split(real_line_data.load_cells())
    images, labels = real_line_data.line_set(held, args.count, 4242, kazuhito_share=0.0)
    lines = [
        (image, reader.displayed_text(label) if label else "")
        for image, label in zip(images, labels, strict=True)
    ]
    cells = [(c.image, c.label) for device in sorted(held) for c in held[device]]
    engines = {"tokenmeter line network": ours, "PP-OCRv6 small rec (rapidocr)": ppocr()}
    for set_name, data in (("held-out real lines", lines), ("held-out real cells", cells)):
        print(f"\n{set_name} ({len(data)}), model {args.model.name}")
        print("| engine | raw guess right | confident and right (precision ≥ 99.5 %) | ms |")
        print("|---|---|---|---|")
        for name, engine in engines.items():
            print(evaluate(name, engine, data), flush=True)


if __name__ == "__main__":
    main()
