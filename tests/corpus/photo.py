"""A generated page as a phone would photograph it: the paper on a desk, seen at an angle
(perspective), turned a little or by a quarter, lit unevenly with a shadow, paper grain and
sensor noise, slightly out of focus, about 1000 px wide and saved as JPEG at quality 40–70.

Pillow and numpy only."""

from __future__ import annotations

import io
import math
import random

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageFilter

RENDER_PX = 1600  # the page is drawn sharp first, then degraded and brought down
PHOTO_PX = 1000


def render(pdf: bytes, width_px: int = RENDER_PX) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        scale = width_px / page.get_width()
        image = page.render(scale=scale).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    return image


def _perspective_coeffs(src: list[tuple[float, float]], dst: list[tuple[float, float]]) -> list:
    """Coefficients for Image.transform(PERSPECTIVE), mapping output points `dst` to `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=float)
    b = np.array([c for point in src for c in point], dtype=float)
    return list(np.linalg.solve(a, b))


def _on_desk(page: Image.Image, rng: random.Random) -> Image.Image:
    """The page on a darker desk, seen at an angle and turned a few degrees."""
    w, h = page.size
    margin = int(w * rng.uniform(0.04, 0.1))
    desk = tuple(rng.randrange(60, 140) for _ in range(3))
    out_w, out_h = w + 2 * margin, h + 2 * margin
    jitter = w * rng.uniform(0.01, 0.06)
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    placed = [
        (x + margin + rng.uniform(-jitter, jitter), y + margin + rng.uniform(-jitter, jitter))
        for x, y in corners
    ]
    angle = math.radians(rng.uniform(-5, 5))
    cx, cy = out_w / 2, out_h / 2
    placed = [
        (
            cx + (x - cx) * math.cos(angle) - (y - cy) * math.sin(angle),
            cy + (x - cx) * math.sin(angle) + (y - cy) * math.cos(angle),
        )
        for x, y in placed
    ]
    coeffs = _perspective_coeffs(corners, placed)
    mask = Image.new("L", page.size, 255).transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    warped = page.transform(
        (out_w, out_h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC
    )
    return Image.composite(warped, Image.new("RGB", (out_w, out_h), desk), mask)


def _field(values: np.ndarray, w: int, h: int) -> np.ndarray:
    """A smooth float field computed on a coarse grid, brought up to the image size."""
    image = Image.fromarray(values.astype(np.float32), "F")
    return np.asarray(image.resize((w, h), Image.Resampling.BICUBIC))


def _light(image: Image.Image, rng: random.Random) -> Image.Image:
    """Uneven light: a gradient across the sheet and a soft shadow from one side; warm paper;
    grain and noise. The light is smooth, so it is computed on a coarse grid."""
    a = np.asarray(image, dtype=np.float32)
    h, w = a.shape[:2]
    gh, gw = h // 16 + 2, w // 16 + 2
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    yy, xx = yy / (gh - 1), xx / (gw - 1)
    t = math.radians(rng.uniform(0, 360))
    ramp = (xx - 0.5) * math.cos(t) + (yy - 0.5) * math.sin(t)
    light = 1.0 - rng.uniform(0.1, 0.35) * (ramp + 0.5)
    edge = rng.uniform(0.2, 0.8)
    shadow = 1.0 - rng.uniform(0.15, 0.4) / (1.0 + np.exp((xx - edge) * 25))
    field = np.random.default_rng(rng.randrange(2**32))
    grain = field.normal(1.0, 0.015, (gh, gw))  # paper texture
    gain = _field(light * shadow * grain, w, h)[..., None]
    tint = np.array([1.0, rng.uniform(0.95, 1.0), rng.uniform(0.85, 0.97)], dtype=np.float32)
    noise = field.normal(0, rng.uniform(3, 9), a.shape).astype(np.float32)
    out = a * gain * tint + noise
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def photo(pdf: bytes, rng: random.Random) -> tuple[bytes, dict[str, float]]:
    """The photo as JPEG bytes, and what was done to it."""
    page = render(pdf)
    image = _on_desk(page, rng)
    image = _light(image, rng)
    blur = rng.uniform(0.4, 1.4)
    image = image.filter(ImageFilter.GaussianBlur(blur))
    quarter = rng.choice([0, 0, 0, 90, 180, 270])
    if quarter:
        image = image.rotate(quarter, expand=True)
    scale = PHOTO_PX * rng.uniform(0.95, 1.05) / max(image.size)  # the long side
    image = image.resize(
        (round(image.size[0] * scale), round(image.size[1] * scale)), Image.Resampling.LANCZOS
    )
    quality = rng.randrange(40, 71)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    done = {"blur": round(blur, 2), "turn": quarter, "quality": quality, "width": image.size[0]}
    return buf.getvalue(), done
