"""The wall behind the meter and what the camera does to a photo (light, glare,
blur, noise, JPEG)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from tokenmeter.sim.render_lcd import FloatImage
from tokenmeter.sim.render_style import PhotoConditions, Quad

WALLS = (
    (200, 210, 215),
    (180, 190, 200),
    (150, 160, 165),
    (220, 225, 225),
    (120, 140, 160),
    (90, 100, 110),
    (170, 185, 160),
)


def draw_scene(rng: np.random.Generator, size: tuple[int, int]) -> FloatImage:
    """A wall with uneven light and a few objects (boxes, cables, a socket)."""
    width, height = size
    wall = np.array(WALLS[int(rng.integers(len(WALLS)))], np.float32)
    wall = wall + rng.uniform(-20, 20, size=3).astype(np.float32)
    scene = np.empty((height, width, 3), np.float32)
    scene[:] = wall
    gx = np.linspace(-1, 1, width, dtype=np.float32) * rng.uniform(-0.15, 0.15)
    gy = np.linspace(-1, 1, height, dtype=np.float32) * rng.uniform(-0.15, 0.15)
    scene *= (1 + gy[:, None] + gx[None, :])[..., None]
    for _ in range(int(rng.integers(0, 5))):
        colour = tuple(float(c) for c in rng.uniform(30, 230, size=3))
        x0, x1 = sorted(rng.integers(0, width, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, height, size=2).tolist())
        if rng.random() < 0.5:
            cv2.rectangle(scene, (x0, y0), (x1, y1), colour, -1)
        else:
            thickness = int(rng.integers(2, max(3, width // 60)))
            cv2.line(scene, (x0, y0), (x1, y1), colour, thickness, cv2.LINE_AA)
    return scene


def add_switch_plates(scene: FloatImage, rng: np.random.Generator) -> None:
    """Light switches and sockets on the wall (rounded plates with a rocker or holes)."""
    height, width = scene.shape[:2]
    for _ in range(int(rng.integers(1, 3))):
        side = int(rng.uniform(0.15, 0.3) * min(width, height))
        x0 = int(rng.integers(0, max(1, width - side)))
        y0 = int(rng.integers(0, max(1, height - side)))
        plate = tuple(float(c) for c in rng.uniform(200, 245, size=3))
        cv2.rectangle(scene, (x0, y0), (x0 + side, y0 + side), plate, -1, cv2.LINE_AA)
        cv2.rectangle(scene, (x0, y0), (x0 + side, y0 + side), (120, 120, 120), 1, cv2.LINE_AA)
        centre = (x0 + side // 2, y0 + side // 2)
        if rng.random() < 0.5:
            inner = side // 4
            shade = tuple(c * 0.9 for c in plate)
            cv2.rectangle(
                scene,
                (centre[0] - inner, centre[1] - inner),
                (centre[0] + inner, centre[1] + inner),
                shade,
                -1,
            )
        else:
            for dx in (-side // 6, side // 6):
                cv2.circle(scene, (centre[0] + dx, centre[1]), max(2, side // 14), (40, 40, 40), -1)


def degrade(
    photo: FloatImage,
    conditions: PhotoConditions,
    lcd_quad: Quad | None,
    digit_h: float,
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Apply light, glare, blur, noise and JPEG to a float photo; return BGR uint8."""
    height, width = photo.shape[:2]
    light = np.float32(conditions.brightness)
    if conditions.vignette > 0:
        gx = np.linspace(-1, 1, width, dtype=np.float32) ** 2
        gy = np.linspace(-1, 1, height, dtype=np.float32) ** 2
        falloff = 1 - np.float32(conditions.vignette / 2) * (gx[None, :] + gy[:, None])
        photo = photo * (light * falloff)[..., None]
    else:
        photo = photo * light
    if conditions.glare is not None and lcd_quad is not None:
        _add_glare(photo, conditions, lcd_quad)
    sigma = conditions.blur * digit_h / 40
    if sigma > 0.3:
        photo = cv2.GaussianBlur(photo, (0, 0), sigma).astype(np.float32)
    if conditions.noise > 0:
        photo = photo + _sensor_noise(rng, photo.shape, conditions.noise)
    image = np.clip(photo, 0, 255).astype(np.uint8)
    if conditions.jpeg_quality is not None:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, conditions.jpeg_quality])
        decoded = cv2.imdecode(data, cv2.IMREAD_COLOR) if ok else None
        if decoded is not None:
            image = decoded.astype(np.uint8)
    return image


def _sensor_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma: float) -> FloatImage:
    """Near-Gaussian noise (sum of two uniform bytes), several times faster than normal()."""
    pair = rng.integers(0, 256, (2, *shape), dtype=np.uint8)
    centred = pair[0].astype(np.int16) + pair[1].astype(np.int16) - 255
    noise: FloatImage = centred.astype(np.float32) * np.float32(sigma / 104.0)
    return noise


def _add_glare(photo: FloatImage, conditions: PhotoConditions, lcd_quad: Quad) -> None:
    glare = conditions.glare
    assert glare is not None
    tl, tr, br, bl = (np.array(p) for p in lcd_quad)
    across, down = (tr + br - tl - bl) / 2, (bl + br - tl - tr) / 2
    centre = tl + across * glare.cx + down * glare.cy
    lcd_w = float(np.linalg.norm(across))
    rx, ry = max(2.0, glare.rx * lcd_w), max(2.0, glare.ry * lcd_w)
    height, width = photo.shape[:2]
    x0, x1 = int(max(0, centre[0] - 3 * rx)), int(min(width, centre[0] + 3 * rx + 1))
    y0, y1 = int(max(0, centre[1] - 3 * ry)), int(min(height, centre[1] + 3 * ry + 1))
    if x0 >= x1 or y0 >= y1:
        return
    xs = (np.arange(x0, x1, dtype=np.float32) - centre[0]) / rx
    ys = (np.arange(y0, y1, dtype=np.float32) - centre[1]) / ry
    falloff = np.exp(-(xs[None, :] ** 2 + ys[:, None] ** 2))
    amount = np.clip(falloff * 1.3, 0, 1) * np.float32(glare.strength)
    region = photo[y0:y1, x0:x1]
    region += (255 - region) * amount[..., None]
