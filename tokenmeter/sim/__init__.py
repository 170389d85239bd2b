"""Simulated meters: a seeded renderer of meter photos (and the simulated devices)."""

from tokenmeter.sim.render import (
    RenderedPhoto,
    format_value,
    normal_text,
    render_crop,
    render_negative,
    render_photo,
)
from tokenmeter.sim.render_style import (
    Glare,
    LcdStyle,
    PhotoConditions,
    random_conditions,
    random_style,
)

__all__ = [
    "Glare",
    "LcdStyle",
    "PhotoConditions",
    "RenderedPhoto",
    "format_value",
    "normal_text",
    "random_conditions",
    "random_style",
    "render_crop",
    "render_negative",
    "render_photo",
]
