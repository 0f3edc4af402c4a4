"""Scans and photos of printed invoices: the PDF page rendered with pdfium, then made to look
scanned — skewed a few degrees, turned 90/180/270 degrees, noisy, blurred or JPEG-compressed."""

from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
from PIL import Image, ImageFilter

SCAN_DPI = 150
VARIANTS = ("clean", "skew", "noise", "rot90", "blur", "jpeg", "rot180", "skew", "rot270")


def render_page(pdf: bytes, dpi: int = SCAN_DPI) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0]
        image = page.render(scale=dpi / 72).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    return image


def scan(pdf: bytes, variant: str, rng: random.Random) -> tuple[bytes, str]:
    """The scanned page as (image bytes, file extension)."""
    image = render_page(pdf)
    if variant == "skew":
        angle = rng.choice([-1, 1]) * rng.uniform(1.0, 4.0)
        image = image.rotate(
            angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white"
        )
    elif variant in ("rot90", "rot180", "rot270"):
        image = image.rotate(int(variant[3:]), expand=True)
    elif variant == "noise":
        noise = Image.effect_noise(image.size, 40).convert("RGB")
        image = Image.blend(image, noise, 0.18)
    elif variant == "blur":
        image = image.filter(ImageFilter.GaussianBlur(0.9))
    buf = io.BytesIO()
    if variant == "jpeg":
        image.save(buf, "JPEG", quality=rng.randrange(45, 70))
        return buf.getvalue(), "jpg"
    image.save(buf, "PNG", optimize=False, compress_level=3)
    return buf.getvalue(), "png"
