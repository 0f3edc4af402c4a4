"""The original beside the form: a PDF's first page rendered as PNG (pypdfium2), an image as it is
(other raster formats as PNG), an OFD's embedded page image when it has one (its QR or a scan), a
text format (JSON, XML) as text. Bounded: at most `MAX_PIXELS` rendered, `MAX_MEMBER` read from an
OFD's zip; anything else has no preview, said plainly by the page."""

from __future__ import annotations

import io
import threading
import zipfile
from dataclasses import dataclass

MAX_WIDTH = 1400  # px of a rendered page
MAX_PIXELS = 40_000_000
MAX_MEMBER = 10 * 1024 * 1024
_pdfium = threading.Lock()  # pdfium is not thread-safe
_RASTER = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
_IMAGE_MEMBERS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")


@dataclass(frozen=True, slots=True)
class Preview:
    kind: str  # image / text / none
    media: str = ""
    body: bytes = b""
    note: str = ""  # what was shown: "pdf page 1", "ofd image Doc_0/Res/qr.png", …


def preview(data: bytes) -> Preview:
    try:
        if data.startswith(b"%PDF"):
            return _pdf(data)
        if data.startswith(_RASTER):
            return Preview("image", "image/png" if data[:1] == b"\x89" else "image/jpeg", data)
        if data.startswith(b"PK\x03\x04"):
            return _ofd(data)
        if data[:4] in (b"GIF8", b"BM\x00\x00") or data[:4] in (b"II*\x00", b"MM\x00*"):
            return _as_png(data, "image")
        text = data[:200_000].decode("utf-8-sig")
        return Preview("text", "text/plain; charset=utf-8", text.encode(), "text")
    except Exception:  # a damaged original has no preview; the page says so, the item stays
        return Preview("none")


def _pdf(data: bytes) -> Preview:
    import pypdfium2 as pdfium

    with _pdfium:
        doc = pdfium.PdfDocument(data)
        try:
            if len(doc) < 1:
                return Preview("none")
            page = doc[0]
            width, height = page.get_size()
            scale = min(2.0, MAX_WIDTH / max(width, 1.0))
            if width * height * scale * scale > MAX_PIXELS:
                return Preview("none")
            image = page.render(scale=scale).to_pil()
            page.close()
        finally:
            doc.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Preview("image", "image/png", out.getvalue(), "pdf page 1")


def _ofd(data: bytes) -> Preview:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = {i.filename.lower(): i for i in z.infolist()}
        if not any(n.endswith("ofd.xml") for n in names):
            return Preview("none")
        images = [
            i
            for n, i in names.items()
            if n.endswith(_IMAGE_MEMBERS) and 0 < i.file_size <= MAX_MEMBER
        ]
        if not images:
            return Preview("none", note="ofd")
        best = max(images, key=lambda i: i.file_size)  # a scan beats a seal or the QR
        return _as_png(z.read(best), f"ofd image {best.filename}")


def _as_png(data: bytes, note: str) -> Preview:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        if img.width * img.height > MAX_PIXELS:
            return Preview("none")
        out = io.BytesIO()
        img.convert("RGB").save(out, format="PNG")
    return Preview("image", "image/png", out.getvalue(), note)
