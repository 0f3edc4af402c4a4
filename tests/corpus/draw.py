"""Drawing on a PDF page the way issuing software does: in mm from the top-left corner of the paper,
each string its own text object, the form's labels in one font and the data in others.

Fonts: the form's labels in an embedded subset of WenQuanYi Zen Hei (real forms embed KaiTi);
data in either the non-embedded STSong-Light CID font (as the older issuing software writes it) or
an embedded subset of Zen Hei Sharp (as 数电 files embed SimSun); numbers in Courier."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
FORM = "ZenHeiForm"  # labels
SONG = "STSong-Light"  # data, not embedded
SHARP = "ZenHeiSharp"  # data, embedded
MONO = "Courier"
BROWN = (0.55, 0.27, 0.07)
RED = (0.85, 0.1, 0.1)
_fonts: set[str] = set()


def fonts() -> None:
    if _fonts:
        return
    if not Path(FONT_FILE).exists():
        raise RuntimeError(f"{FONT_FILE} is missing: run scripts/system-deps.sh")
    pdfmetrics.registerFont(TTFont(FORM, FONT_FILE, subfontIndex=0))
    pdfmetrics.registerFont(TTFont(SHARP, FONT_FILE, subfontIndex=1))
    pdfmetrics.registerFont(UnicodeCIDFont(SONG))
    _fonts.update((FORM, SHARP, SONG))


def width(s: str, font: str, size: float) -> float:
    """Width in mm."""
    return pdfmetrics.stringWidth(s, font, size) / mm


@dataclass
class Page:
    c: canvas.Canvas
    height: float  # mm
    zoom: float = 1.0  # > 1: every string under a scaled matrix, as files converted from OFD

    def text(
        self,
        x: float,
        y: float,
        s: str,
        font: str,
        size: float,
        *,
        align: str = "left",
        color: tuple[float, float, float] = (0, 0, 0),
        hscale: float = 100,
        angle: float = 0.0,
        space: float = 0.0,
        words: float = 0.0,
        zoom: float = 0.0,
    ) -> None:
        """`s` with its baseline at (x, y) mm. `zoom` draws a smaller font under a scaled matrix
        (as files converted from OFD do); `hscale` squeezes it horizontally (Tz)."""
        if not s:
            return
        zoom = zoom or self.zoom
        w = width(s, font, size) * hscale / 100 + space * (len(s) - 1) + words * s.count(" ")
        x -= {"left": 0, "right": w, "center": w / 2}[align]
        c = self.c
        c.saveState()
        c.setFillColorRGB(*color)
        c.translate(x * mm, (self.height - y) * mm)
        if angle:
            c.rotate(angle)
        if zoom != 1.0:
            c.scale(zoom, zoom)
        t = c.beginText(0, 0)
        t.setFont(font, size / zoom)
        if hscale != 100:
            t.setHorizScale(hscale)
        if space:
            t.setCharSpace(space * mm / zoom)
        if words:
            t.setWordSpace(words * mm / zoom)
        t.textOut(s)
        c.drawText(t)
        c.restoreState()

    def line(self, x0: float, y0: float, x1: float, y1: float, w: float = 0.5) -> None:
        self.c.setLineWidth(w)
        self.c.line(x0 * mm, (self.height - y0) * mm, x1 * mm, (self.height - y1) * mm)

    def rect(self, x0: float, y0: float, x1: float, y1: float, w: float = 0.7) -> None:
        self.c.setLineWidth(w)
        self.c.rect(x0 * mm, (self.height - y1) * mm, (x1 - x0) * mm, (y1 - y0) * mm)

    def image(self, x: float, y: float, w: float, h: float, png: bytes) -> None:
        reader = ImageReader(io.BytesIO(png))
        self.c.drawImage(reader, x * mm, (self.height - y - h) * mm, w * mm, h * mm, mask="auto")

    def oval_text(self, cx: float, cy: float, rx: float, ry: float, s: str, size: float) -> None:
        """Characters set on the upper arc of an oval, each turned (the 监制章 of the form)."""
        c = self.c
        c.setStrokeColorRGB(*BROWN)
        c.setLineWidth(0.6)
        c.ellipse(
            (cx - rx) * mm,
            (self.height - cy - ry) * mm,
            (cx + rx) * mm,
            (self.height - cy + ry) * mm,
        )
        for n, ch in enumerate(s):
            t = math.radians(200 - 220 * n / max(1, len(s) - 1))
            x, y = cx + (rx - 3) * math.cos(t), cy - (ry - 3) * math.sin(t)
            self.text(x, y, ch, FORM, size, align="center", color=BROWN, angle=math.degrees(t) - 90)


def new_pdf(width_mm: float, height_mm: float, title: str) -> tuple[io.BytesIO, canvas.Canvas]:
    fonts()
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(width_mm * mm, height_mm * mm), pageCompression=1)
    c.setTitle(title)
    c.setAuthor("fpkj")
    c.setCreator("invoice issuing")
    return buf, c


def qr_png(payload: str) -> bytes:
    buf = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(buf, kind="png", scale=4, border=1)
    return buf.getvalue()


def stamp_png(ring: str, middle: str, bottom: str, rgb: tuple[int, int, int]) -> bytes:
    """An oval stamp as an image: the seller's 发票专用章, or the 监制章 of a 数电 form."""
    w, h = 400, 280
    img = Image.new("RGBA", (w, h), (255, 255, 255, 0))
    d = ImageDraw.Draw(img)
    ink = (*rgb, 210)
    d.ellipse((8, 8, w - 8, h - 8), outline=ink, width=8)
    big = ImageFont.truetype(FONT_FILE, 30)
    small = ImageFont.truetype(FONT_FILE, 24)
    ring = ring[:18]
    for n, ch in enumerate(ring):
        t = math.radians(200 - 220 * n / max(1, len(ring) - 1))
        x, y = w / 2 + (w / 2 - 45) * math.cos(t), h / 2 - (h / 2 - 45) * math.sin(t)
        d.text((x, y), ch, font=big, fill=ink, anchor="mm")
    d.text((w / 2, h / 2 + 10), middle, font=small, fill=ink, anchor="mm")
    d.text((w / 2, h / 2 + 60), bottom, font=big, fill=ink, anchor="mm")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def seal_png(name: str, tax_id: str) -> bytes:
    """The seller's red 发票专用章 as the issuing software stamps it: an image, not text."""
    return stamp_png(name, tax_id, "发票专用章", (220, 30, 30))
