"""Write the committed fixture photos and their labels (seeded: same output every run).

    .venv/bin/python scripts/make_fixtures.py [--out tests/fixtures/photos]

Every case forces one condition the reader must handle (the rest of the look is
drawn at random from the case's seed); ``labels.json`` lists, per file, the
reading, its value and every condition present in the photo.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tokenmeter.sim import (  # noqa: E402
    Glare,
    LcdStyle,
    PhotoConditions,
    RenderedPhoto,
    random_conditions,
    random_style,
    render_crop,
    render_negative,
    render_photo,
)

OUT_DIR = ROOT / "tests" / "fixtures" / "photos"
SAVE_QUALITY = 80
BASE_SEED = 20_240

Kind = Literal["photo", "crop", "roi"]


@dataclass(frozen=True)
class Case:
    """One fixture: what it shows and which condition it forces."""

    name: str
    text: str
    kind: Kind = "photo"
    size: tuple[int, int] = (640, 480)
    style: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)


GLARE = Glare(cx=0.35, cy=0.4, rx=0.12, ry=0.09, strength=0.55)
GLARE_EDGE = Glare(cx=0.85, cy=0.1, rx=0.2, ry=0.14, strength=0.6)

CASES: tuple[Case, ...] = (
    Case("plain_green", "123.45", style={"backlight": "green"}),
    Case("plain_grey", "4082.17", style={"backlight": "grey"}),
    Case("plain_orange", "56.78", style={"backlight": "orange"}),
    Case("plain_blue", "905.31", style={"backlight": "blue"}),
    Case("plain_white", "31.09", style={"backlight": "white"}),
    Case("plain_amber", "267.4", style={"backlight": "amber"}),
    Case(
        "light_on_dark_white", "168.20", style={"polarity": "light_on_dark", "backlight": "white"}
    ),
    Case("light_on_dark_green", "72.65", style={"polarity": "light_on_dark", "backlight": "green"}),
    Case("light_on_dark_cyan", "1390.5", style={"polarity": "light_on_dark", "backlight": "cyan"}),
    Case("ghost_light", "246.81", style={"ghost": 0.12}),
    Case("ghost_strong", "35.70", style={"ghost": 0.16, "ghost_points": True}),
    Case("slant_6", "809.23", style={"slant_deg": 6.0}),
    Case("slant_12", "4617.9", style={"slant_deg": 12.0}),
    Case("decimals_0", "14358", style={"decimals": 0}),
    Case("decimals_1", "2096.4", style={"decimals": 1, "small_tenths": False}),
    Case("decimals_2", "87.52", style={"decimals": 2}),
    Case("decimals_3", "5.238", style={"positions": 6}),
    Case("small_tenths_a", "2181.2", style={"small_tenths": True}),
    Case("small_tenths_b", "0.7", style={"small_tenths": True, "leading_zeros": True}),
    Case("leading_zeros", "42.9", style={"leading_zeros": True, "positions": 7}),
    Case("leading_blanks", "42.9", style={"leading_zeros": False, "positions": 7}),
    Case("shown_zeros", "0042988", style={"decimals": 0}),
    Case("under_one", "0.46", style={"leading_zeros": False}),
    Case("positions_5", "9361", style={"positions": 5}),
    Case("positions_8", "153.26", style={"positions": 8, "leading_zeros": True}),
    Case("six_tail", "66.06", style={"six_tail": True}),
    Case("six_no_tail", "66.06", style={"six_tail": False}),
    Case("nine_tail", "99.19", style={"nine_tail": True}),
    Case("nine_no_tail", "99.19", style={"nine_tail": False}),
    Case("seven_plain", "77.17", style={"seven_hook": False}),
    Case("seven_hook", "77.17", style={"seven_hook": True}),
    Case("shape_rect", "380.64", style={"shape": "rect"}),
    Case("shape_hex", "380.64", style={"shape": "hex"}),
    Case("shape_trapezoid", "380.64", style={"shape": "trapezoid"}),
    Case("rotated_plus", "521.88", conditions={"rotation_deg": 10.0}),
    Case("rotated_minus", "521.88", conditions={"rotation_deg": -10.0}),
    Case("perspective", "64.13", conditions={"perspective": 0.08}),
    Case("small_scale", "708.5", conditions={"lcd_width": 0.28}),
    Case("large_scale", "33.57", conditions={"lcd_width": 0.85}),
    Case("corner_top_left", "210.98", conditions={"centre": (0.0, 0.0)}),
    Case("corner_bottom_right", "210.98", conditions={"centre": (1.0, 1.0)}),
    Case("glare_centre", "93.46", conditions={"glare": GLARE}),
    Case("glare_edge", "1047.2", conditions={"glare": GLARE_EDGE}),
    Case("blur", "586.03", conditions={"blur": 1.4}),
    Case("noise", "29.81", conditions={"noise": 9.0}),
    Case("jpeg_40", "7354.6", conditions={"jpeg_quality": 40}),
    Case("dim_vignette", "130.77", conditions={"brightness": 0.7, "vignette": 0.45}),
    Case("size_800x600", "452.19", size=(800, 600)),
    Case("size_1280x960", "8906.3", size=(1280, 960)),
    Case("size_1600x1200", "61.25", size=(1600, 1200)),
    Case("crop_a", "2383.3", kind="crop", style={"small_tenths": True}),
    Case("crop_b", "5191", kind="crop", style={"decimals": 0}),
    Case("crop_c", "15553", kind="crop", style={"leading_zeros": True, "positions": 6}),
    Case("crop_d", "9845.9", kind="crop", style={"slant_deg": 8.0}),
    Case("crop_e", "72.52", kind="crop", style={"polarity": "light_on_dark"}),
    Case("crop_f", "608.5", kind="crop", conditions={"blur": 1.2, "jpeg_quality": 50}),
    Case("roi_a", "347.02", kind="roi"),
    Case("roi_b", "1968.4", kind="roi", conditions={"rotation_deg": -7.0}),
    Case("roi_c", "50.61", kind="roi", size=(1280, 960)),
)
NEGATIVES: tuple[tuple[str, Literal["dark", "blank_lcd", "wall"]], ...] = (
    ("negative_dark_a", "dark"),
    ("negative_dark_b", "dark"),
    ("negative_blank_lcd_a", "blank_lcd"),
    ("negative_blank_lcd_b", "blank_lcd"),
    ("negative_wall_a", "wall"),
    ("negative_wall_b", "wall"),
)


def fixture_style(rng: np.random.Generator, changes: dict[str, Any]) -> LcdStyle:
    """A random style with the case's forced fields (polarity/backlight set the colours)."""
    style = random_style(rng)
    polarity = changes.get("polarity", style.polarity)
    backlight = changes.get("backlight")
    if polarity != style.polarity or backlight is not None:
        for _ in range(200):  # redraw until the colours match what the case asks for
            candidate = random_style(rng)
            if candidate.polarity == polarity and backlight in (None, candidate.backlight):
                style = replace(candidate, **{k: getattr(style, k) for k in _SHAPE_FIELDS})
                break
        else:
            raise RuntimeError(f"no style with {polarity} / {backlight}")
    return replace(style, **{k: v for k, v in changes.items() if k not in ("backlight",)})


_SHAPE_FIELDS = ("positions", "aspect", "stroke", "shape")


def fixture_conditions(
    rng: np.random.Generator, changes: dict[str, Any], kind: Kind
) -> PhotoConditions:
    """Random but fair capture conditions; the forced condition may be harsher."""
    drawn = random_conditions(rng)
    fair = replace(
        drawn,
        glare=None,
        blur=min(drawn.blur, 0.8),
        noise=min(drawn.noise, 5.0),
        jpeg_quality=max(drawn.jpeg_quality or 90, 60),
        perspective=min(drawn.perspective, 0.05),
        rotation_deg=float(np.clip(drawn.rotation_deg, -6, 6)),
    )
    return replace(fair, **changes)


def render_case(case: Case, seed: int) -> RenderedPhoto:
    """Render one case deterministically."""
    rng = np.random.default_rng(seed)
    style = fixture_style(rng, case.style)
    conditions = fixture_conditions(rng, case.conditions, case.kind)
    if case.kind == "crop":
        return render_crop(case.text, style, seed=seed, conditions=conditions)
    return render_photo(case.text, style, seed=seed, size=case.size, conditions=conditions)


def describe(photo: RenderedPhoto, case: Case) -> list[str]:
    """Every condition present in the photo, as short tags."""
    style, cond = photo.style, photo.conditions
    tags = [{"photo": "whole_photo", "crop": "crop", "roi": "roi"}[case.kind]]
    height, width = photo.image.shape[:2]
    tags.append(f"size_{width}x{height}")
    tags += [style.polarity, f"backlight_{style.backlight}", f"shape_{style.shape}"]
    tags.append(f"positions_{len(photo.shown.replace('.', ''))}")
    if style.ghost > 0:
        tags.append("ghost_segments")
    if style.slant_deg >= 3:
        tags.append("italic")
    if "." in photo.text:
        tags.append("decimal_point")
        if style.small_tenths and len(photo.text.partition(".")[2]) == 1:
            tags.append("small_tenths")
    shown_digits = photo.shown.replace(".", "")
    if shown_digits.startswith("0") and len(shown_digits) > 1 and shown_digits[1] != ".":
        tags.append("leading_zeros")
    if shown_digits.startswith(" "):
        tags.append("leading_blanks")
    if "6" in shown_digits:
        tags.append("six_tail" if style.six_tail else "six_no_tail")
    if "9" in shown_digits:
        tags.append("nine_tail" if style.nine_tail else "nine_no_tail")
    if "7" in shown_digits:
        tags.append("seven_hook" if style.seven_hook else "seven_plain")
    if style.body_labels or style.lcd_label:
        tags.append("labels")
    if case.kind != "crop":
        tags += _capture_tags(cond)
    if cond.glare is not None:
        tags.append("glare")
    if cond.blur >= 1.0:
        tags.append("blur")
    if cond.noise >= 6:
        tags.append("noise")
    if cond.jpeg_quality is not None and cond.jpeg_quality <= 50:
        tags.append("jpeg_artefacts")
    return tags


def _capture_tags(cond: PhotoConditions) -> list[str]:
    tags = []
    if abs(cond.rotation_deg) >= 5:
        tags.append("rotation")
    if cond.perspective >= 0.04:
        tags.append("perspective")
    if cond.lcd_width <= 0.32:
        tags.append("small_scale")
    if cond.lcd_width >= 0.75:
        tags.append("large_scale")
    if cond.brightness <= 0.75 or cond.vignette >= 0.4:
        tags.append("dim")
    return tags


def write_fixtures(out_dir: Path) -> dict[str, dict[str, Any]]:
    """Render every case and negative into ``out_dir``; return the labels."""
    out_dir.mkdir(parents=True, exist_ok=True)
    labels: dict[str, dict[str, Any]] = {}
    for index, case in enumerate(CASES):
        photo = render_case(case, BASE_SEED + index)
        name = f"{case.name}.jpg"
        _save(out_dir / name, photo.image)
        labels[name] = {
            "text": photo.text,
            "value": photo.value,
            "conditions": describe(photo, case),
            "quad": [[round(x, 1), round(y, 1)] for x, y in photo.quad],
            "use_roi": case.kind == "roi",
        }
    for index, (stem, kind) in enumerate(NEGATIVES):
        image = render_negative(kind, seed=BASE_SEED + 1000 + index)
        name = f"{stem}.jpg"
        _save(out_dir / name, image)
        labels[name] = {
            "text": "",
            "value": None,
            "conditions": ["negative", kind],
            "quad": None,
            "use_roi": False,
        }
    (out_dir / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True) + "\n")
    return labels


def _save(path: Path, image: np.ndarray[Any, Any]) -> None:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, SAVE_QUALITY])
    if not ok:
        raise RuntimeError(f"cannot encode {path.name}")
    path.write_bytes(data.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    args = parser.parse_args()
    for old in args.out.glob("*.jpg"):
        old.unlink()
    labels = write_fixtures(args.out)
    total = sum(p.stat().st_size for p in args.out.iterdir())
    tags = sorted({t for label in labels.values() for t in label["conditions"]})
    print(f"{len(labels)} fixtures, {total / 1e6:.2f} MB in {args.out}")
    print("conditions:", " ".join(tags))


if __name__ == "__main__":
    main()
