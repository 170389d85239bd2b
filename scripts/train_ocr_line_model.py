"""Train the reader's line recogniser (``ocr/models/line_ctc.onnx``).

Offline tool, not a runtime dependency: needs PyTorch (CPU wheel is enough) and
``onnx``; the reader itself runs the exported ONNX file with OpenCV::

    .venv/bin/pip install torch onnx
    .venv/bin/python scripts/train_ocr_line_model.py --samples 50000 --real-lines 70000 \
        --seed 31 --minutes 50 --init ocr/models/line_ctc.onnx --peak-lr 5e-4 \
        --cache data/train/v21.npz --out data/train/line_ctc_v21.onnx

Everything is seeded. The training images are of two kinds:

- rendered by the project (``tokenmeter.sim.render``): hard line crops
  (``scripts/ocr_line_data.py``), crops and whole photos cut around the digits
  with random margins, extra augmentation (blur, noise, contrast, polarity,
  shear, squeeze, JPEG) and negatives (wall, bezel, keypad, labels) with an
  empty label;
- lines assembled from real photographed digit cells of the training devices of
  ``../shared/datasets/real-digits`` (``scripts/real_line_data.py``, Apache-2.0);
- with ``--crops DIR`` (repeatable), views of the real display crops of folders
  written by ``tokenmeter export-references`` (``scripts/real_crop_data.py``), of
  the meters not held out; the held-out meters' crops are validated on with the
  rest ("held-out meters"). Use a folder only under the licence its owner gave.

The devices held out from training (``real_line_data.HELD_OUT``) are validated on
every five minutes ("held-out real") and calibrate the gate
(``bench/ocr_calibrate.py``). The benchmark's real meter crops are never used.
Data caches and a ``.pt`` checkpoint are written beside ``--cache`` (``data/`` is
git-ignored); a later run continues the shipped network with ``--init`` on the
exported ``.onnx`` (or on a ``.pt`` of this script).
"""

from __future__ import annotations

import argparse
import math
import time
from itertools import pairwise
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from ocr_line_data import line_sample, random_text  # scripts/, beside this file
from real_crop_data import crop_sets
from real_line_data import line_set, load_cells, split

from ocr.line_model import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, prepare
from tokenmeter.sim.render import render_crop, render_negative, render_photo
from tokenmeter.sim.render_style import random_style

ROOT = Path(__file__).resolve().parents[1]


def _augment(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extra damage on top of the renderer's own: blur, shear, squeeze, noise, JPEG."""
    img: np.ndarray = crop.astype(np.float32)
    h, w = img.shape[:2]
    if rng.random() < 0.3:
        shear = float(rng.uniform(-0.15, 0.2))
        m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.4:
        sigma = float(rng.uniform(0.5, 2.0)) * h / 40
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.5:
        sx = float(np.exp(rng.uniform(np.log(0.6), np.log(1.7))))
        img = cv2.resize(img, (max(8, round(w * sx)), h))
    if rng.random() < 0.3:  # low contrast
        mean = img.mean()
        img = mean + (img - mean) * float(rng.uniform(0.3, 0.8))
    if rng.random() < 0.3:  # gradient of light
        ramp = np.linspace(float(rng.uniform(-60, 0)), float(rng.uniform(0, 60)), img.shape[1])
        img = img + ramp[None, :, None] if img.ndim == 3 else img + ramp[None, :]
    if rng.random() < 0.1:
        img = 255 - img
    img = img + rng.normal(0, float(rng.uniform(0, 8)), img.shape)
    out: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        _ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 80))])
        decoded = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
        assert decoded is not None  # a JPEG cv2.imencode just wrote
        out = decoded
    return out


def _cut(image: np.ndarray, quad: np.ndarray, height: int) -> np.ndarray:
    """Warp a quad (TL, TR, BR, BL) of the photo to an upright crop ``height`` px tall."""
    top = np.linalg.norm(quad[1] - quad[0])
    side = np.linalg.norm(quad[3] - quad[0])
    width = max(8, round(height * top / max(float(side), 1.0)))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, m, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _jittered_quad(quad: np.ndarray, rng: np.random.Generator, window: bool = False) -> np.ndarray:
    """The digit quad grown by random margins (labels, bezel may come in) and turned a
    bit; or, with ``window``, the whole LCD window a little off, as the locator finds it."""
    tl, tr, br, bl = quad
    ux = (tr - tl) / max(np.linalg.norm(tr - tl), 1.0)
    uy = (bl - tl) / max(np.linalg.norm(bl - tl), 1.0)
    h = float(np.linalg.norm(bl - tl))
    if window:
        left, right, up, down = rng.uniform(-0.04, 0.1, size=4) * h
    else:
        left, right = rng.uniform(-0.08, 0.9) * h, rng.uniform(-0.08, 1.6) * h
        up, down = rng.uniform(-0.06, 0.45) * h, rng.uniform(-0.06, 0.45) * h
    angle = math.radians(float(rng.uniform(-3, 3)))
    c, s = math.cos(angle), math.sin(angle)
    ux, uy = (
        np.array([c * ux[0] - s * ux[1], s * ux[0] + c * ux[1]]),
        np.array([c * uy[0] - s * uy[1], s * uy[0] + c * uy[1]]),
    )
    return np.array(
        [
            tl - left * ux - up * uy,
            tr + right * ux - up * uy,
            br + right * ux + down * uy,
            bl - left * ux + down * uy,
        ],
        np.float32,
    )


def _random_negative_quad(
    image: np.ndarray, avoid: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    ih, iw = image.shape[:2]
    ax0, ay0 = avoid.min(axis=0)
    ax1, ay1 = avoid.max(axis=0)
    for _ in range(20):
        h = float(rng.uniform(15, 90))
        w = h * float(rng.uniform(2.5, 9))
        x0, y0 = float(rng.uniform(0, max(1, iw - w))), float(rng.uniform(0, max(1, ih - h)))
        if x0 > ax1 or x0 + w < ax0 or y0 > ay1 or y0 + h < ay0:
            break
    return np.array([[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]], np.float32)


def raw_samples(
    seed: int, count: int, kind: str, cuts: int = 3
) -> tuple[list[np.ndarray], list[str]]:
    """``count`` BGR training lines of one kind ("hard", "crop", "photo") from one seed;
    a rendered photo gives ``cuts`` jittered cuts of its line, its window and a negative."""
    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    labels: list[str] = []
    while len(labels) < count:
        if kind == "hard":
            image, label = line_sample(rng)
            images.append(image)
            labels.append(label)
            continue
        render_seed = int(rng.integers(0, 2**31))
        style = random_style(np.random.default_rng(render_seed))
        text = random_text(rng, style.positions, style.decimals)
        if kind == "crop":
            photo = render_crop(text, style, seed=render_seed)
            images.append(_augment(photo.image, rng))
            labels.append(photo.shown.replace(" ", ""))
            continue
        if rng.random() < 0.04:
            neg_kind = str(rng.choice(["dark", "blank_lcd", "wall"]))
            image = render_negative(neg_kind, seed=render_seed)  # type: ignore[arg-type]
            quad = _random_negative_quad(image, np.zeros((4, 2), np.float32) - 1000, rng)
            images.append(_augment(_cut(image, quad, 40), rng))
            labels.append("")
            continue
        photo = render_photo(text, style, seed=render_seed)
        truth = np.array(photo.quad, np.float32)
        for _ in range(cuts):
            crop = _cut(photo.image, _jittered_quad(truth, rng), int(rng.integers(24, 64)))
            images.append(_augment(crop, rng))
            labels.append(photo.shown.replace(" ", ""))
        if photo.lcd_quad is not None:  # the whole window: indicators, "kWh", bezel
            window = _jittered_quad(np.array(photo.lcd_quad, np.float32), rng, window=True)
            crop = _cut(photo.image, window, int(rng.integers(24, 64)))
            images.append(_augment(crop, rng))
            labels.append(photo.shown.replace(" ", ""))
        quad = _random_negative_quad(photo.image, truth, rng)
        images.append(_augment(_cut(photo.image, quad, 40), rng))
        labels.append("")
    return images[:count], labels[:count]


def make_samples(args: tuple[int, int, str]) -> tuple[np.ndarray, list[str]]:
    """``count`` samples of one kind from one seed, as network inputs (float16)."""
    seed, count, kind = args
    images, labels = raw_samples(seed, count, kind)
    return np.stack([prepare(i)[0, 0] for i in images]).astype(np.float16), labels


def build_dataset(total: int, seed: int, workers: int) -> tuple[np.ndarray, list[str]]:
    """Hard line crops (55 %), cuts of whole photos (30 %) and clean crops (15 %)."""
    chunk = 250
    kinds = ["hard"] * 11 + ["photo"] * 6 + ["crop"] * 3
    jobs = [(seed * 100_000 + i, chunk, kinds[i % len(kinds)]) for i in range(total // chunk)]
    with Pool(workers) as pool:
        parts = pool.map(make_samples, jobs)
    images = np.concatenate([p[0] for p in parts])
    labels = [label for p in parts for label in p[1]]
    return images, labels


def _network(torch: Any, context: bool = True) -> Any:
    """Fully convolutional CTC net: 32x256 in, 64 frames x (1 + len(ALPHABET)) out.

    With ``context`` (the layout since v17; v11 had none) a
    residual branch of two dilated convolutions along the frames widens what each
    output frame sees from 57 to 105 input columns (about three line heights): a
    digit stretched wide no longer outgrows it. Its last convolution starts at zero,
    so a network of the older layout (``--init``) starts out reading exactly as
    before."""
    nn = torch.nn

    def block(cin: int, cout: int, stride: int = 1) -> list[Any]:
        return [
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        ]

    Module: Any = nn.Module  # torch.nn.Module under a name mypy resolves as a base

    class LineNet(Module):  # type: ignore[misc]  # Module is Any: torch is not installed
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *block(1, 24, stride=2),  # 16x128
                *block(24, 48),
                nn.MaxPool2d(2),  # 8x64
                *block(48, 96),
                *block(96, 96),
                nn.MaxPool2d((2, 1)),  # 4x64
                *block(96, 128),
                *block(128, 128),
                nn.Conv2d(128, 160, (4, 1), bias=False),  # 1x64
                nn.BatchNorm2d(160),
                nn.ReLU(),
                nn.Conv2d(160, 160, (1, 5), padding=(0, 2)),
                nn.ReLU(),
            )
            self.context = None
            if context:
                self.context = nn.Sequential(
                    nn.Conv2d(160, 160, (1, 3), padding=(0, 2), dilation=(1, 2)),
                    nn.ReLU(),
                    nn.Conv2d(160, 160, (1, 3), padding=(0, 4), dilation=(1, 4)),
                )
                nn.init.zeros_(self.context[2].weight)
                nn.init.zeros_(self.context[2].bias)
            self.head = nn.Sequential(nn.Dropout(0.1), nn.Conv2d(160, 1 + len(ALPHABET), 1))

        def forward(self, x: Any) -> Any:
            features = self.body(x)
            if self.context is not None:
                features = torch.relu(features + self.context(features))
            return self.head(features)

    return LineNet()


def _load_weights(torch: Any, net: Any, path: Path) -> None:
    """Weights saved by this script; those of v11's plain sequential layout (body
    layers 0-24, head convolution 26) load into body and head."""
    state = torch.load(path)
    if not any(key.startswith("body.") for key in state):
        state = {
            (f"head.1.{key[3:]}" if key.startswith("26.") else f"body.{key}"): value
            for key, value in state.items()
        }
        state.update({k: v for k, v in net.state_dict().items() if k.startswith("context.")})
    net.load_state_dict(state)


def _load_onnx_weights(torch: Any, net: Any, path: Path, calibration: Any) -> None:
    """Start from an exported network (the shipped ``line_ctc.onnx``) instead of a
    ``.pt`` checkpoint, which is not kept in the repository.

    The export folds each batch norm into the convolution before it, so the norms are
    rebuilt: run as an identity first, each norm's input statistics are measured on
    ``calibration`` images, then set as its running statistics with a scale and shift
    that undo them. The network then computes exactly the exported function in eval
    mode, and nearly it in train mode, where a batch's own statistics are used."""
    import onnx  # offline only, like torch

    model = onnx.load(str(path))
    weights = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    norms = {  # conv -> the batch norm after it
        a: b
        for a, b in pairwise(net.modules())
        if isinstance(a, torch.nn.Conv2d) and isinstance(b, torch.nn.BatchNorm2d)
    }
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    if len(nodes) != len(convs):
        raise SystemExit(f"{path}: {len(nodes)} convolutions, the network has {len(convs)}")
    with torch.no_grad():
        for conv, node in zip(convs, nodes, strict=True):
            conv.weight.copy_(torch.from_numpy(weights[node.input[1]].copy()))
            bias = torch.from_numpy(weights[node.input[2]].copy())
            if conv in norms:
                norm = norms[conv]
                norm.running_mean.zero_()
                norm.running_var.fill_(1 - norm.eps)
                norm.weight.fill_(1.0)
                norm.bias.copy_(bias)
            else:
                conv.bias.copy_(bias)
        seen: dict[Any, tuple[Any, Any]] = {}  # norm -> (mean, variance) of its input
        hooks = [
            norm.register_forward_hook(
                lambda m, i, _o: seen.__setitem__(
                    m, torch.var_mean(i[0], dim=(0, 2, 3), unbiased=False)[::-1]
                )
            )
            for norm in norms.values()
        ]
        net.eval()
        net(calibration)
        for hook in hooks:
            hook.remove()
        for norm in norms.values():
            mean, var = seen[norm]
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.weight.copy_(torch.sqrt(var + norm.eps))
            norm.bias.add_(mean)
    net.train()


def _encode(labels: list[str]) -> tuple[list[int], list[int]]:
    flat = [ALPHABET.index(c) + 1 for label in labels for c in label]
    return flat, [len(label) for label in labels]


def _greedy(logits: Any) -> list[str]:
    best = logits.argmax(dim=1)[:, 0, :].tolist()  # (batch, frames)
    out = []
    for row in best:
        chars, prev = [], 0
        for cls in row:
            if cls != prev and cls != 0:
                chars.append(ALPHABET[cls - 1])
            prev = cls
        out.append("".join(chars))
    return out


def _load_or_build(
    path: Path, samples: int, seed: int, workers: int
) -> tuple[np.ndarray, list[str]]:
    if path.is_file():
        data = np.load(path)
        return data["images"], [str(s) for s in data["labels"]]
    started = time.time()
    images, labels = build_dataset(samples, seed, workers)
    np.savez(path, images=images, labels=np.array(labels))
    print(f"rendered {len(labels)} samples in {time.time() - started:.0f} s", flush=True)
    return images, labels


def _real_job(args: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    seed, count = args
    train, _held = split(load_cells())
    images, labels = line_set(train, count, seed)
    return np.stack([prepare(i)[0, 0] for i in images]).astype(np.float16), labels


def build_real(path: Path, total: int, seed: int, workers: int) -> tuple[np.ndarray, list[str]]:
    """Lines assembled from real cells of the training devices (``real_line_data``)."""
    if path.is_file():
        data = np.load(path)
        return data["images"], [str(s) for s in data["labels"]]
    chunk = 1000
    jobs = [(seed * 100_000 + 50_000 + i, chunk) for i in range(max(1, total // chunk))]
    with Pool(workers) as pool:
        parts = pool.map(_real_job, jobs)
    images = np.concatenate([p[0] for p in parts])
    labels = [label for p in parts for label in p[1]]
    np.savez(path, images=images, labels=np.array(labels))
    return images, labels


def held_out_lines(count: int = 2000, seed: int = 4242) -> tuple[np.ndarray, list[str]]:
    """Validation lines from the held-out devices only (never trained on)."""
    _train, held = split(load_cells())
    images, labels = line_set(held, count, seed, kazuhito_share=0.0)
    return np.stack([prepare(i)[0, 0] for i in images]).astype(np.float32), labels


def _validate(torch: Any, net: Any, x_val: Any, y_val: list[str]) -> float:
    net.eval()
    with torch.no_grad():
        guesses = [g for k in range(0, len(y_val), 256) for g in _greedy(net(x_val[k : k + 256]))]
    net.train()
    return sum(g == t for g, t in zip(guesses, y_val, strict=True)) / len(y_val)


def _learning_rate(fraction: float, peak: float) -> float:
    """Warm up over the first 3 % of the time budget, then a cosine down to ~0."""
    if fraction < 0.03:
        return peak * (0.1 + 0.9 * fraction / 0.03)
    return peak * 0.5 * (1 + math.cos(math.pi * min(1.0, (fraction - 0.03) / 0.97)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=160_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=60.0, help="training time budget")
    parser.add_argument("--data-only", action="store_true", help="render the data and stop")
    parser.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from these weights: a .pt of this script, or an exported .onnx",
    )
    parser.add_argument("--peak-lr", type=float, default=2e-3)
    parser.add_argument(
        "--no-context",
        action="store_true",
        help="v11's layout: no dilated context branch",
    )
    parser.add_argument(
        "--real-lines", type=int, default=60_000, help="lines built from real training cells"
    )
    parser.add_argument(
        "--crops", type=Path, action="append", default=[], help="exported display crops"
    )
    parser.add_argument("--crop-lines", type=int, default=20_000, help="views of those crops")
    parser.add_argument(
        "--held-out-meter", action="append", default=[], help="with --crops: meters held out"
    )
    parser.add_argument("--cache", type=Path, default=ROOT / "data" / "train" / "ocr_line_data.npz")
    parser.add_argument("--out", type=Path, default=ROOT / "ocr" / "models" / "line_ctc.onnx")
    args = parser.parse_args()

    args.cache.parent.mkdir(parents=True, exist_ok=True)
    images, labels = _load_or_build(args.cache, args.samples, args.seed, args.workers)
    val_path = args.cache.with_name(args.cache.stem + "_val.npz")
    val_images, y_val = _load_or_build(val_path, 3000, args.seed + 1000, args.workers)
    if args.real_lines:
        real_path = args.cache.with_name(args.cache.stem + f"_real{args.real_lines}.npz")
        real_images, real_labels = build_real(real_path, args.real_lines, args.seed, args.workers)
        images = np.concatenate([images, real_images])
        labels = [*labels, *real_labels]
        print(f"{len(real_labels)} real-cell lines added", flush=True)
    held_images, y_held = held_out_lines()
    crop_held = np.zeros((0, INPUT_HEIGHT, INPUT_WIDTH), np.float32)
    y_crops: list[str] = []
    if args.crops:
        crop_images, crop_labels, crop_held, y_crops = crop_sets(
            args.crops, args.held_out_meter, args.crop_lines, args.seed
        )
        images = np.concatenate([images, crop_images])
        labels = [*labels, *crop_labels]
        print(f"{len(crop_labels)} views of exported crops added, {len(y_crops)} held out")
    if args.data_only:
        return

    import torch  # offline only, never a runtime dependency

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.workers)
    x_train = torch.from_numpy(images).unsqueeze(1)  # float16, cast per batch
    x_val = torch.from_numpy(val_images.astype(np.float32)).unsqueeze(1)
    x_held = torch.from_numpy(held_images).unsqueeze(1)
    x_crops = torch.from_numpy(crop_held).unsqueeze(1)
    y_train = labels

    def held_meters() -> str:
        return f" held-out meters {_validate(torch, net, x_crops, y_crops):.3f}" if y_crops else ""

    net = _network(torch, context=not args.no_context)
    if args.init is not None:
        if args.init.suffix == ".onnx":
            _load_onnx_weights(torch, net, args.init, x_train[:2000].float())
        else:
            _load_weights(torch, net, args.init)
    print(f"parameters: {sum(p.numel() for p in net.parameters())}", flush=True)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    peak = args.peak_lr
    optimiser = torch.optim.AdamW(net.parameters(), lr=peak, weight_decay=1e-4)
    batch = 64
    generator = np.random.default_rng(args.seed)
    started = time.time()
    budget = args.minutes * 60
    step, epoch, last_report = 0, 0, started
    running = 0.0
    while time.time() - started < budget:
        order = generator.permutation(len(y_train))
        for i in range(0, len(order) - batch + 1, batch):
            fraction = (time.time() - started) / budget
            if fraction >= 1:
                break
            for group in optimiser.param_groups:
                group["lr"] = _learning_rate(fraction, peak)
            idx = np.sort(order[i : i + batch])
            x = x_train[idx].float()
            # cheap on-the-fly augmentation: contrast, offset, noise, polarity, shift
            x = x * torch.empty(batch, 1, 1, 1).uniform_(0.6, 1.4)
            x = x + torch.empty(batch, 1, 1, 1).uniform_(-0.2, 0.2)
            x = x + torch.randn_like(x) * float(generator.uniform(0, 0.08))
            flip = torch.from_numpy(generator.random(batch) < 0.1).view(batch, 1, 1, 1)
            x = torch.where(flip, -x, x)
            shift = int(generator.integers(0, 12))
            if shift:
                x = torch.cat([x[..., -shift:] * 0, x[..., :-shift]], dim=3)
            targets, lengths = _encode([y_train[j] for j in idx])
            out = net(x)[:, :, 0, :].permute(2, 0, 1).log_softmax(2)  # (T, N, C)
            loss = ctc(
                out,
                torch.tensor(targets, dtype=torch.long),
                torch.full((batch,), out.shape[0], dtype=torch.long),
                torch.tensor(lengths, dtype=torch.long),
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            running = 0.98 * running + 0.02 * float(loss.detach())
            if time.time() - last_report > 300:
                last_report = time.time()
                exact = _validate(torch, net, x_val, y_val)
                held = _validate(torch, net, x_held, y_held)
                torch.save(net.state_dict(), args.cache.with_suffix(".pt"))
                print(
                    f"epoch {epoch} step {step}: loss {running:.3f} val exact {exact:.3f} "
                    f"held-out real {held:.3f}{held_meters()} "
                    f"lr {_learning_rate(fraction, peak):.2e} ({time.time() - started:.0f} s)",
                    flush=True,
                )
        epoch += 1
    exact = _validate(torch, net, x_val, y_val)
    held = _validate(torch, net, x_held, y_held)
    print(
        f"done: {step} steps, {epoch} epochs, val exact {exact:.3f}, held-out real {held:.3f}"
        f"{held_meters()}",
        flush=True,
    )
    net.eval()
    torch.save(net.state_dict(), args.cache.with_suffix(".pt"))  # exporting needs `onnx`
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        (torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH),),
        str(args.out),
        input_names=["image"],
        output_names=["logits"],
        opset_version=13,
        dynamo=False,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
