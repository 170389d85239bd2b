"""Photos of one rendered meter from a camera that never moves (a little jitter of
aim, light and noise between shots), its balance falling: test data for profiles."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tokenmeter.sim import (
    RenderedPhoto,
    format_value,
    random_conditions,
    random_style,
    render_photo,
)


def fixed_camera_photos(
    style_seed: int, count: int, start: float | None = 150.0
) -> list[RenderedPhoto]:
    """``count`` photos of the meter style ``style_seed`` draws, oldest first.

    ``start`` is the first balance shown; ``None`` draws it (20-400) from the seed.
    """
    rng = np.random.default_rng(style_seed)
    style = random_style(rng)
    base = random_conditions(rng)
    base = replace(base, perspective=min(base.perspective, 0.01), glare=None)
    photos: list[RenderedPhoto] = []
    value = float(rng.uniform(20, 400)) if start is None else start
    for index in range(count):
        conditions = replace(
            base,
            centre=(
                base.centre[0] + rng.uniform(-0.01, 0.01),
                base.centre[1] + rng.uniform(-0.01, 0.01),
            ),
            rotation_deg=base.rotation_deg + rng.uniform(-0.5, 0.5),
            brightness=base.brightness * rng.uniform(0.85, 1.1),
            noise=base.noise * rng.uniform(0.8, 1.2),
        )
        text = format_value(value, style)
        photos.append(
            render_photo(text, style, seed=style_seed * 1000 + index, conditions=conditions)
        )
        value = max(0.0, value - rng.uniform(0.1, 3.0))
    return photos
