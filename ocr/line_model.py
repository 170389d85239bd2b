"""The learned line recogniser: a small fully convolutional CTC network (ONNX, OpenCV DNN).

It reads a whole line of digits at once (``0-9``, ``.`` and ``-``), so it needs no
digit segmentation. It was trained only on images the project renders itself
(``scripts/train_ocr_line_model.py``), never on photos of real meters; a candidate
trained also on real digit cells is described in ``docs/ocr-model.md``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from ocr.ink import brightest
from ocr.reading import Image

INPUT_HEIGHT = 32
INPUT_WIDTH = 256
DOUBT_MARGIN = 3
"""A half-seen point counts from this many frames before the first emitted character."""
ALPHABET = "0123456789.-"
"""Output classes 1..len(ALPHABET); class 0 is the CTC blank."""
MODEL_PATH = Path(__file__).resolve().parent / "models" / "line_ctc.onnx"

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LineGuess:
    """What the network reads on a line crop."""

    text: str  # e.g. "004824.0" (leading zeros kept)
    char_confidences: tuple[float, ...]  # probability of each emitted character
    char_columns: tuple[tuple[float, float], ...]  # each character's span, 0..1 of the width
    point_doubt: float  # highest probability of a decimal point away from any emitted
    # one, from just before the first character to the end


def prepare(crop: Image) -> FloatArray:
    """A crop (BGR or grey) as the network input: 1x1x32x256, robustly normalised.

    Grey is the brightest channel (keeps the contrast of coloured backlights); the
    crop is scaled to 32 px height keeping its aspect (squeezed if wider than 8:1)
    and padded on the right with its median grey.
    """
    grey = brightest(crop)
    h, w = grey.shape[:2]
    width = max(1, min(INPUT_WIDTH, round(w * INPUT_HEIGHT / max(1, h))))
    interpolation = cv2.INTER_AREA if h > INPUT_HEIGHT else cv2.INTER_LINEAR
    small = np.asarray(
        cv2.resize(grey, (width, INPUT_HEIGHT), interpolation=interpolation), np.float32
    )
    lo, mid, hi = np.percentile(small, (2, 50, 98))
    canvas = np.full((INPUT_HEIGHT, INPUT_WIDTH), mid, np.float32)
    canvas[:, :width] = small
    canvas = (canvas - mid) / (float(hi - lo) + 8.0)
    return np.asarray(canvas.reshape(1, 1, INPUT_HEIGHT, INPUT_WIDTH), np.float32)


def content_width(crop: Image) -> float:
    """Fraction of the network input the crop occupies (the rest is padding)."""
    h, w = crop.shape[:2]
    return float(min(1.0, round(w * INPUT_HEIGHT / max(1, h)) / INPUT_WIDTH))


_per_thread = threading.local()


def _network() -> cv2.dnn.Net:
    """This thread's copy of the network: an OpenCV ``Net`` is not safe to share
    between threads (the service reads several meters at once in worker threads)."""
    net: cv2.dnn.Net | None = getattr(_per_thread, "net", None)
    if net is None:
        net = cv2.dnn.readNetFromONNX(str(MODEL_PATH))
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        _per_thread.net = net
    return net


def model_available() -> bool:
    """True when the ONNX model file is installed."""
    return MODEL_PATH.is_file()


def softmax(logits: FloatArray) -> FloatArray:
    """Row-wise softmax of (frames, classes) logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True), np.float32)


def frame_probabilities(crop: Image) -> FloatArray:
    """(frames, classes) probabilities for one crop."""
    net = _network()
    net.setInput(prepare(crop))
    out = np.asarray(net.forward(), np.float32)  # (1, classes, 1, frames)
    return softmax(np.ascontiguousarray(out.reshape(out.shape[1], -1).T))


def decode(probs: FloatArray) -> LineGuess:
    """Greedy CTC decoding with per-character confidence and position."""
    best = probs.argmax(axis=1)
    frames = probs.shape[0]
    chars: list[str] = []
    confidences: list[float] = []
    spans: list[tuple[float, float]] = []
    previous = 0
    start = 0
    for t, cls in enumerate(best):
        cls_i = int(cls)
        if cls_i != previous and cls_i != 0:
            chars.append(ALPHABET[cls_i - 1])
            confidences.append(float(probs[t, cls_i]))
            spans.append((t / frames, (t + 1) / frames))
            start = t
        elif cls_i == previous and cls_i != 0:
            confidences[-1] = max(confidences[-1], float(probs[t, cls_i]))
            spans[-1] = (start / frames, (t + 1) / frames)
        previous = cls_i
    point = ALPHABET.index(".") + 1
    near_point = np.zeros(frames, bool)
    for frame in np.flatnonzero(best == point).tolist():
        near_point[max(0, frame - 2) : frame + 3] = True
    emitted = np.flatnonzero(best != 0)
    after_start = np.zeros(frames, bool)  # blank frames before the first character do not count
    after_start[max(0, int(emitted[0]) - DOUBT_MARGIN) if emitted.size else 0 :] = True
    away = probs[~near_point & after_start, point]
    return LineGuess(
        "".join(chars),
        tuple(confidences),
        tuple(spans),
        point_doubt=float(away.max()) if away.size else 0.0,
    )


def digit_pitch(guess: LineGuess) -> float | None:
    """Mean distance between neighbouring digit centres of a reading, in line heights
    of the network's input; None with fewer than two digits."""
    centres = [
        (a + b) / 2
        for char, (a, b) in zip(guess.text, guess.char_columns, strict=True)
        if char.isdigit()
    ]
    if len(centres) < 2:
        return None
    return (centres[-1] - centres[0]) / (len(centres) - 1) * INPUT_WIDTH / INPUT_HEIGHT


def read_line(crop: Image) -> LineGuess:
    """The network's reading of a crop holding one line of digits."""
    return decode(frame_probabilities(crop))
