"""Train digit heads on the frozen PP-OCRv6 recognition backbone (offline comparison).

    .venv/bin/pip install torch==2.13.0 onnx onnxruntime rapidocr   # offline only
    .venv/bin/python scripts/train_ppocr_head.py --stage --rendered 12000 --real 12000 \
        --seed 7 --epochs 12 --hidden 128 --lr 2e-3

PP-OCRv6 small recognition (Apache-2.0, the ONNX file shipped in the ``rapidocr``
wheel) was trained on large real-image text corpora. Its weights stay frozen: the
script cuts its graph (before its 18,710-class head, or with ``--stage`` at the
last stage of its convolutional backbone, 384 x 3 x width/4, before its neck pools
the height), computes those features once for every training line, and trains a
small CTC head (or a new neck and head) for ``ocr.line_model.ALPHABET`` on them.
Training lines: the project's rendered lines (the kinds of
``train_ocr_line_model.make_samples``) and lines assembled from real cells of the
training devices (``real_line_data``); the features are cached beside ``--out``
(``data/``, git-ignored), so a next run only trains. Every few epochs it reports
the first guess and single-view confidence on lines of the held-out devices
(seed 4242) and on hard rendered crops (seed 4242), and at the end exports the
backbone and the trained part as one ONNX file (input 1x3x48xW in -1..1, BGR).
``docs/ocr-model.md`` records what this gave against the project's own network.
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import real_line_data  # noqa: E402
import train_ocr_line_model as tol  # noqa: E402
from ocr_line_data import line_sample  # noqa: E402

from ocr.line_model import ALPHABET, decode  # noqa: E402

HEIGHT = 48
WIDTH = 320
FEATURE_NODE = "p2o.pd_op.transpose.8.0"
"""The recogniser's sequence features (N, T, 120), after its neck, before its head."""
STAGE_NODE = "p2o.pd_op.add.64.0"
"""The convolutional backbone's last stage (N, 384, 3, width / 4), before the neck pools it."""


def ppocr_model() -> Path:
    import rapidocr  # offline only

    return Path(rapidocr.__file__).parent / "models" / "PP-OCRv6_rec_small.onnx"


def backbone(out: Path, node: str = FEATURE_NODE) -> Path:
    """The PP-OCR recogniser cut at ``node`` (cached)."""
    path = out.parent / ("ppocr_backbone.onnx" if node == FEATURE_NODE else "ppocr_stage.onnx")
    if not path.is_file():
        from onnx import utils  # offline only

        utils.extract_model(str(ppocr_model()), str(path), ["x"], [node])
    return path


def prepare(image: np.ndarray) -> np.ndarray:
    """3x48x320 input: height 48 keeping the aspect (squeezed past 320), padded with 0."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = image.shape[:2]
    width = max(8, min(WIDTH, round(w * HEIGHT / max(1, h))))
    small = cv2.resize(
        image, (width, HEIGHT), interpolation=cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    )
    canvas = np.zeros((3, HEIGHT, WIDTH), np.float32)
    canvas[:, :, :width] = (small.astype(np.float32) / 127.5 - 1.0).transpose(2, 0, 1)
    return canvas


def rendered(args: tuple[int, int, str]) -> tuple[list[np.ndarray], list[str]]:
    """Raw BGR training lines of one kind (two cuts per rendered photo)."""
    seed, count, kind = args
    return tol.raw_samples(seed, count, kind, cuts=2)


def real(args: tuple[int, int]) -> tuple[list[np.ndarray], list[str]]:
    seed, count = args
    train, _held = real_line_data.split(real_line_data.load_cells())
    images, labels = real_line_data.line_set(train, count, seed)
    return list(images), list(labels)


def _features_job(args: tuple[str, list[np.ndarray]]) -> np.ndarray:
    import onnxruntime as ort  # offline only here

    path, images = args
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    out = []
    for start in range(0, len(images), 32):
        batch = np.stack([prepare(i) for i in images[start : start + 32]])
        out.append(session.run(None, {"x": batch})[0].astype(np.float16))
    return np.concatenate(out)


def features(path: Path, images: list[np.ndarray], workers: int) -> np.ndarray:
    chunks = [images[i : i + 500] for i in range(0, len(images), 500)]
    with Pool(workers) as pool:
        parts = pool.map(_features_job, [(str(path), c) for c in chunks])
    return np.concatenate(parts)


def dataset(cache: Path, build: Any) -> tuple[np.ndarray, list[str]]:
    if cache.is_file():
        data = np.load(cache)
        return data["x"], [str(s) for s in data["y"]]
    x, y = build()
    np.savez(cache, x=x, y=np.array(y))
    return x, y


def _head(torch: Any, hidden: int, stage: bool) -> Any:
    """The trained part; it takes the stored features as they are and gives (N, classes, T)."""
    nn = torch.nn
    Module: Any = nn.Module  # torch.nn.Module under a name mypy resolves as a base
    classes = len(ALPHABET) + 1

    class Sequence(Module):  # type: ignore[misc]  # Module is Any: torch is not installed
        """Over the recogniser's own sequence features (N, T, 120)."""

        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv1d(120, hidden, 3, padding=1),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Conv1d(hidden, classes, 1),
            )

        def forward(self, x: Any) -> Any:
            return self.body(x.transpose(1, 2))

    class Stage(Module):  # type: ignore[misc]  # Module is Any: torch is not installed
        """A new neck over the last CNN stage (N, 384, 3, T): the height is kept to here,
        so a decimal point low between two digits is still there to see."""

        def __init__(self) -> None:
            super().__init__()
            self.reduce = nn.Sequential(
                nn.AvgPool2d((1, 2)),  # 4 to 8 px of input per frame, as the recogniser's own neck
                nn.Conv2d(384, hidden, 1),
                nn.ReLU(),
                nn.Conv2d(hidden, hidden, (3, 3), padding=(0, 1)),
                nn.ReLU(),
            )
            self.seq = nn.Sequential(
                nn.Conv1d(hidden, hidden, 5, padding=2),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Conv1d(hidden, hidden, 5, padding=2),
                nn.ReLU(),
                nn.Dropout(0.1),
                nn.Conv1d(hidden, classes, 1),
            )

        def forward(self, x: Any) -> Any:
            return self.seq(self.reduce(x).squeeze(2))

    return Stage() if stage else Sequence()


def evaluate(torch: Any, head: Any, x: np.ndarray, y: list[str]) -> str:
    from ocr.reader import NUMBER, displayed_text

    head.eval()
    with torch.no_grad():
        probs = np.concatenate(
            [
                torch.softmax(head(torch.from_numpy(x[i : i + 256].astype(np.float32))), 1)
                .transpose(1, 2)
                .numpy()
                for i in range(0, len(x), 256)
            ]
        )
    head.train()
    readable = sum(bool(lab) for lab in y)
    raw = 0
    gated = {c: [0, 0] for c in (0.9, 0.98)}
    for p, lab in zip(probs, y, strict=True):
        guess = decode(p)
        text, conf = guess.text, min(guess.char_confidences, default=0.0)
        shown = displayed_text(text) if NUMBER.match(text) else ""
        truth = displayed_text(lab) if lab else ""
        raw += bool(truth) and shown == truth
        for c, tally in gated.items():
            if shown and conf >= c:
                tally[0 if shown == truth else 1] += 1
    parts = [f"raw {raw / max(1, readable):.1%}"]
    parts += [f"@{c}: {r} right {w} wrong" for c, (r, w) in gated.items()]
    return ", ".join(parts)


def train(
    x: np.ndarray, y: list[str], val: dict[str, tuple[np.ndarray, list[str]]], args: Any
) -> Any:
    import torch  # offline only

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    head = _head(torch, args.hidden, args.stage)
    optimiser = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    index = {c: i + 1 for i, c in enumerate(ALPHABET)}
    rng = np.random.default_rng(args.seed)
    steps = args.epochs * (len(y) // args.batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, args.lr, total_steps=steps)
    step = 0
    for epoch in range(args.epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(order) - args.batch + 1, args.batch):
            picked = order[start : start + args.batch]
            feats = torch.from_numpy(x[picked].astype(np.float32))
            # feature noise: the frozen backbone sees new photos, not these exact features
            feats = feats + args.noise * torch.randn_like(feats) * feats.std()
            logits = head(feats).permute(2, 0, 1)  # T, N, C
            targets = [index[c] for i in picked for c in y[i]]
            lengths = [len(y[i]) for i in picked]
            loss = ctc(
                logits.log_softmax(2),
                torch.tensor(targets, dtype=torch.long),
                torch.full((len(picked),), logits.shape[0], dtype=torch.long),
                torch.tensor(lengths, dtype=torch.long),
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            step += 1
        if epoch % 3 == 2 or epoch == args.epochs - 1:
            report = "; ".join(f"{k}: {evaluate(torch, head, *v)}" for k, v in val.items())
            print(f"epoch {epoch + 1} loss {loss.item():.3f} | {report}", flush=True)
    torch.save(
        head.state_dict(),
        args.out.with_name(args.out.stem + ("_stage" if args.stage else "") + ".pt"),
    )
    return head


def first_opset(path: Path) -> int:
    import onnx  # offline only

    return int(onnx.load(str(path)).opset_import[0].version)


def export(bb: Path, head: Any, out: Path, stage: bool) -> None:
    """Backbone + head as one ONNX file: input x (N,3,48,320), output logits (N,T,classes)."""
    import onnx  # offline only
    import torch

    class Wrapped(torch.nn.Module):  # type: ignore[misc,unused-ignore]  # Any without torch
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, feat: Any) -> Any:
            return self.inner(feat).transpose(1, 2)

    head.eval()
    head_path = out.with_name(out.stem + "_head.onnx")
    torch.onnx.export(
        Wrapped(head),
        (torch.zeros(1, 384, 3, 40) if stage else torch.zeros(1, 40, 120),),
        str(head_path),
        input_names=["feat"],
        output_names=["logits"],
        dynamic_axes={"feat": {0: "n", (3 if stage else 1): "t"}, "logits": {0: "n", 1: "t"}},
        opset_version=first_opset(bb),
        dynamo=False,
    )
    first = onnx.load(str(bb))
    second = onnx.load(str(head_path))
    second.ir_version = first.ir_version
    node = STAGE_NODE if stage else FEATURE_NODE
    merged = onnx.compose.merge_models(first, second, io_map=[(node, "feat")])
    onnx.save(merged, str(out))
    print(f"exported {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rendered", type=int, default=12000)
    parser.add_argument("--real", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=192, help="0: a linear head")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument(
        "--stage", action="store_true", help="train a neck and head on the last CNN stage"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "train" / "ppocr_head.pt")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    bb = backbone(args.out, STAGE_NODE if args.stage else FEATURE_NODE)
    w = args.workers
    t0 = time.time()

    def build_rendered() -> tuple[np.ndarray, list[str]]:
        kinds = ["hard"] * 11 + ["photo"] * 6 + ["crop"] * 3
        jobs = [
            (args.seed * 100_000 + i, 250, kinds[i % len(kinds)])
            for i in range(args.rendered // 250)
        ]
        with Pool(w) as pool:
            parts = pool.map(rendered, jobs)
        images = [i for p in parts for i in p[0]]
        return features(bb, images, w), [lab for p in parts for lab in p[1]]

    def build_real() -> tuple[np.ndarray, list[str]]:
        jobs = [(args.seed * 100_000 + 50_000 + i, 1000) for i in range(max(1, args.real // 1000))]
        with Pool(w) as pool:
            parts = pool.map(real, jobs)
        images = [i for p in parts for i in p[0]]
        return features(bb, images, w), [lab for p in parts for lab in p[1]]

    def build_held() -> tuple[np.ndarray, list[str]]:
        _train, held = real_line_data.split(real_line_data.load_cells())
        images, labels = real_line_data.line_set(held, 2000, 4242, kazuhito_share=0.0)
        return features(bb, list(images), w), list(labels)

    def build_hard() -> tuple[np.ndarray, list[str]]:
        rng = np.random.default_rng(4242)
        pairs = [line_sample(rng) for _ in range(1000)]
        return features(bb, [p[0] for p in pairs], w), [p[1] for p in pairs]

    stem = args.out.with_suffix("")
    stem = stem.with_name(stem.name + ("_stage" if args.stage else ""))
    xr, yr = dataset(Path(f"{stem}_rendered_{args.seed}_{args.rendered}.npz"), build_rendered)
    print(f"rendered features {xr.shape} ({time.time() - t0:.0f} s)", flush=True)
    xq, yq = dataset(Path(f"{stem}_real_{args.seed}_{args.real}.npz"), build_real)
    print(f"real features {xq.shape} ({time.time() - t0:.0f} s)", flush=True)
    xh, yh = dataset(Path(f"{stem}_held4242.npz"), build_held)
    xd, yd = dataset(Path(f"{stem}_hard4242.npz"), build_hard)
    print(f"validation features ({time.time() - t0:.0f} s)", flush=True)
    head = train(
        np.concatenate([xr, xq]), yr + yq, {"held-out real": (xh, yh), "hard": (xd, yd)}, args
    )
    export(bb, head, Path(f"{stem}.onnx"), args.stage)


if __name__ == "__main__":
    main()
