"""The invoice QR code on a PDF page or in an image (zxing-cpp), and its payload.

On a PDF page the QR is usually an image object: its bitmap is decoded directly, which is fast.
When that fails (a QR drawn as vector paths), the page is rendered at a low resolution, and then
once more at a higher one. A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import warnings
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import zxingcpp

from fapiao.parse.ofd_crosscheck import QrPayload, parse_payload

MAX_QR_IMAGE_SIDE = 2000


def decode(image: Any, *, pure: bool = False) -> list[tuple[str, Any]]:
    """(text, barcode) of every invoice QR payload (starting `01,`) in a PIL image or array."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, is_pure=pure)
    return [(code.text, code) for code in found if code.text.startswith("01,")]


def _any_qr(image: Any) -> bool:
    """The image holds a QR code of any content (a provincial invoice's QR is not a VAT one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode))


def first_payload(image: Any) -> tuple[QrPayload, Any] | None:
    for text, code in decode(image):
        payload = parse_payload(text)
        if payload is not None:
            return payload, code
    return None


def from_page(page: pdfium.PdfPage) -> QrPayload | None:
    """The QR payload printed on a PDF page, or None."""
    for obj in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        try:
            width, height = obj.get_px_size()
            if not (20 <= width <= MAX_QR_IMAGE_SIDE and 20 <= height <= MAX_QR_IMAGE_SIDE):
                continue
            if max(width, height) > 1.3 * min(width, height):
                continue
            bitmap = obj.get_bitmap(render=False)
            image = bitmap.to_pil()
        except (pdfium.PdfiumError, ValueError, OSError):
            continue
        found = first_payload(image.convert("L"))
        if found:
            return found[0]
        if _any_qr(image.convert("L")):
            return None  # the page's QR, but not an invoice payload: rendering will not change it
    for scale in (2.0, 4.0):
        width, height = page.get_size()
        crop = (0, height * 0.55, width * 0.55, 0)  # the QR sits in the top left
        for box in (crop, (0, 0, 0, 0)):
            image = page.render(scale=scale, crop=box, grayscale=True).to_pil()
            found = first_payload(image)
            if found:
                return found[0]
    return None
