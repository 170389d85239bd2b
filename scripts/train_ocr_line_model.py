"""Train the reader's line recogniser (``ocr/models/line_ctc.onnx``) on rendered images only.

Offline tool, not a runtime dependency: needs PyTorch (CPU wheel is enough)::

    .venv/bin/pip install torch==2.13.0
    .venv/bin/python scripts/train_ocr_line_model.py --samples 24000 --epochs 6

Everything is seeded. The training images come only from the project's own
renderer (``tokenmeter.sim.render``): crops (``render_crop``) and whole photos
(``render_photo``) cut around the digits with random margins, extra augmentation
(blur, noise, contrast, polarity, shear, squeeze, JPEG) and negatives (wall,
bezel, keypad, labels) whose label is empty. No photo of a real meter is used.
"""

from __future__ import annotations

import argparse
import math
import time
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ocr.line_model import ALPHABET, INPUT_HEIGHT, INPUT_WIDTH, prepare
from tokenmeter.sim.render import render_crop, render_negative, render_photo
from tokenmeter.sim.render_style import random_style

ROOT = Path(__file__).resolve().parents[1]


def random_text(rng: np.random.Generator, positions: int, decimals: int) -> str:
    """A plausible display text for a meter with this many positions and decimals."""
    kind = rng.random()
    if kind < 0.04:
        return "----" + str(int(rng.integers(1, 3)))
    if kind < 0.12:  # digits being typed on the keypad
        return "".join(str(d) for d in rng.integers(0, 10, size=int(rng.integers(1, 9))))
    whole_digits = int(rng.integers(1, max(2, positions - decimals + 1)))
    whole = int(rng.integers(0, 10**whole_digits))
    if rng.random() < 0.3:
        whole = int(rng.integers(0, 10))
    if decimals == 0:
        return str(whole)
    fraction = "".join(str(d) for d in rng.integers(0, 10, size=decimals))
    return f"{whole}.{fraction}"


def _augment(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Extra damage on top of the renderer's own: blur, shear, squeeze, noise, JPEG."""
    img = crop.astype(np.float32)
    h, w = img.shape[:2]
    if rng.random() < 0.3:
        shear = float(rng.uniform(-0.15, 0.2))
        m = np.array([[1, shear, -shear * h / 2], [0, 1, 0]], np.float32)
        img = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.4:
        sigma = float(rng.uniform(0.5, 2.0)) * h / 40
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    if rng.random() < 0.3:
        sx = float(rng.uniform(0.75, 1.3))
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
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        _ok, enc = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 80))])
        out = cv2.imdecode(enc, cv2.IMREAD_UNCHANGED)
    return out


def _cut(image: np.ndarray, quad: np.ndarray, height: int) -> np.ndarray:
    """Warp a quad (TL, TR, BR, BL) of the photo to an upright crop ``height`` px tall."""
    top = np.linalg.norm(quad[1] - quad[0])
    side = np.linalg.norm(quad[3] - quad[0])
    width = max(8, round(height * top / max(side, 1.0)))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(image, m, (width, height), borderMode=cv2.BORDER_REPLICATE)


def _jittered_quad(quad: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The digit quad grown by random margins (labels, bezel may come in) and turned a bit."""
    tl, tr, br, bl = quad
    ux = (tr - tl) / max(np.linalg.norm(tr - tl), 1.0)
    uy = (bl - tl) / max(np.linalg.norm(bl - tl), 1.0)
    h = float(np.linalg.norm(bl - tl))
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


def make_samples(args: tuple[int, int, str]) -> tuple[np.ndarray, list[str]]:
    """``count`` samples of one kind ("crop", "photo") from one seed."""
    seed, count, kind = args
    rng = np.random.default_rng(seed)
    inputs: list[np.ndarray] = []
    labels: list[str] = []
    while len(labels) < count:
        render_seed = int(rng.integers(0, 2**31))
        style = random_style(np.random.default_rng(render_seed))
        text = random_text(rng, style.positions, style.decimals)
        if kind == "crop":
            photo = render_crop(text, style, seed=render_seed)
            inputs.append(prepare(_augment(photo.image, rng))[0, 0])
            labels.append(photo.shown.replace(" ", ""))
            continue
        if rng.random() < 0.04:
            neg_kind = str(rng.choice(["dark", "blank_lcd", "wall"]))
            image = render_negative(neg_kind, seed=render_seed)  # type: ignore[arg-type]
            quad = _random_negative_quad(image, np.zeros((4, 2), np.float32) - 1000, rng)
            inputs.append(prepare(_augment(_cut(image, quad, 40), rng))[0, 0])
            labels.append("")
            continue
        photo = render_photo(text, style, seed=render_seed)
        truth = np.array(photo.quad, np.float32)
        for _ in range(3):
            crop = _cut(photo.image, _jittered_quad(truth, rng), int(rng.integers(24, 64)))
            inputs.append(prepare(_augment(crop, rng))[0, 0])
            labels.append(photo.shown.replace(" ", ""))
        quad = _random_negative_quad(photo.image, truth, rng)
        inputs.append(prepare(_augment(_cut(photo.image, quad, 40), rng))[0, 0])
        labels.append("")
    return np.stack(inputs[:count]).astype(np.float16), labels[:count]


def build_dataset(total: int, seed: int, workers: int) -> tuple[np.ndarray, list[str]]:
    """Half crops, half cut from whole photos, generated in parallel."""
    chunk = 250
    jobs = [
        (seed * 100_000 + i, chunk, "crop" if i % 2 == 0 else "photo")
        for i in range(total // chunk)
    ]
    with Pool(workers) as pool:
        parts = pool.map(make_samples, jobs)
    images = np.concatenate([p[0] for p in parts])
    labels = [label for p in parts for label in p[1]]
    return images, labels


def _network(torch: Any) -> Any:
    """Fully convolutional CTC net: 32x256 in, 64 frames x (1 + len(ALPHABET)) out."""
    nn = torch.nn

    def block(cin: int, cout: int) -> list[Any]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, 16),
        nn.MaxPool2d(2),  # 16x128
        *block(16, 32),
        nn.MaxPool2d(2),  # 8x64
        *block(32, 64),
        *block(64, 64),
        nn.MaxPool2d((2, 1)),  # 4x64
        *block(64, 96),
        nn.Conv2d(96, 128, (4, 1), bias=False),  # 1x64
        nn.BatchNorm2d(128),
        nn.ReLU(),
        nn.Conv2d(128, 128, (1, 5), padding=(0, 2)),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Conv2d(128, 1 + len(ALPHABET), 1),
    )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=24000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=12.0, help="stop training after this")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/ocr_line_data.npz"))
    parser.add_argument("--out", type=Path, default=ROOT / "ocr" / "models" / "line_ctc.onnx")
    args = parser.parse_args()

    import torch  # offline only, never a runtime dependency

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.workers)
    if args.cache.is_file():
        data = np.load(args.cache)
        images, labels = data["images"], [str(s) for s in data["labels"]]
    else:
        started = time.time()
        images, labels = build_dataset(args.samples, args.seed, args.workers)
        np.savez(args.cache, images=images, labels=np.array(labels))
        print(f"rendered {len(labels)} samples in {time.time() - started:.0f} s", flush=True)
    val_n = max(200, len(labels) // 20)
    x_all = torch.from_numpy(images.astype(np.float32)).unsqueeze(1)
    x_train, x_val = x_all[val_n:], x_all[:val_n]
    y_train, y_val = labels[val_n:], labels[:val_n]

    net = _network(torch)
    print(f"parameters: {sum(p.numel() for p in net.parameters())}", flush=True)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    optimiser = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    batch = 64
    steps = args.epochs * (len(y_train) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=steps)
    generator = np.random.default_rng(args.seed)
    started = time.time()
    step = 0
    for epoch in range(args.epochs):
        net.train()
        order = generator.permutation(len(y_train))
        total = 0.0
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i : i + batch]
            x = x_train[idx]
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
            if step < steps - 1:
                schedule.step()
            step += 1
            total += float(loss.detach())
            if (time.time() - started) / 60 > args.minutes:
                break
        net.eval()
        with torch.no_grad():
            guesses = [g for k in range(0, val_n, 256) for g in _greedy(net(x_val[k : k + 256]))]
        exact = sum(g == t for g, t in zip(guesses, y_val, strict=True)) / val_n
        print(
            f"epoch {epoch}: loss {total / max(1, len(order) // batch):.3f} "
            f"val exact {exact:.3f} ({time.time() - started:.0f} s)",
            flush=True,
        )
        if (time.time() - started) / 60 > args.minutes:
            break
    net.eval()
    torch.save(net.state_dict(), args.cache.with_suffix(".pt"))  # exporting needs `onnx`
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        net,
        torch.zeros(1, 1, INPUT_HEIGHT, INPUT_WIDTH),
        str(args.out),
        input_names=["image"],
        output_names=["logits"],
        opset_version=13,
        dynamo=False,
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
