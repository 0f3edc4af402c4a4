"""The invoice QR code on a PDF page or in an image (zxing-cpp), and its payload.

On a PDF page the QR is usually an image object: its bitmap is decoded directly, which is fast.
When that fails (a QR drawn as vector paths), the page is rendered at a low resolution, and then
once more at a higher one. A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import ctypes
import functools
import warnings
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import zxingcpp
from PIL import Image

from fapiao.parse.ofd_crosscheck import QrPayload, parse_payload

MAX_QR_IMAGE_SIDE = 2000
_AS_ARRAY = (pdfium_c.FPDFBitmap_Gray, pdfium_c.FPDFBitmap_BGR)  # zxing: grey or BGR bytes


def qr_codes(image: Any, *, pure: bool = False) -> list[Any]:
    """Every QR code zxing finds in a PIL image or array; `pure`: the image is the code itself,
    module for module (read as such, without searching for where it lies)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode, is_pure=pure)


def decode(image: Any, *, pure: bool = False) -> list[tuple[str, Any]]:
    """(text, barcode) of every invoice QR payload (starting `01,`) in a PIL image or array."""
    return [(code.text, code) for code in qr_codes(image, pure=pure) if code.text.startswith("01,")]


def first_payload(image: Any) -> tuple[QrPayload, Any] | None:
    for text, code in decode(image):
        payload = parse_payload(text)
        if payload is not None:
            return payload, code
    return None


def from_page(page: pdfium.PdfPage) -> QrPayload | None:
    """The QR payload printed on a PDF page, or None."""
    for raw in _images(page):
        found = _in_image(raw)
        if found is not None:
            return found or None
    for scale in (2.0, 4.0):
        width, height = page.get_size()
        crop = (0, height * 0.55, width * 0.55, 0)  # the QR sits in the top left
        for box in (crop, (0, 0, 0, 0)):
            image = page.render(scale=scale, crop=box, grayscale=True).to_pil()
            found = first_payload(image)
            if found:
                return found[0]
    return None


def _images(page: pdfium.PdfPage) -> Iterator[Any]:
    """The page's image objects, and those of the forms it draws (one level down), in drawing
    order. Through pdfium's own calls: pypdfium2's wrapper object for each of the hundred or so
    objects of a page cost more than decoding the QR."""
    raw = page.raw
    image, form = pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_FORM
    kind = pdfium_c.FPDFPageObj_GetType
    for n in range(pdfium_c.FPDFPage_CountObjects(raw)):
        obj = pdfium_c.FPDFPage_GetObject(raw, n)
        if not obj:
            continue
        what = kind(obj)
        if what == image:
            yield obj
        elif what == form:
            for m in range(pdfium_c.FPDFFormObj_CountObjects(obj)):
                inner = pdfium_c.FPDFFormObj_GetObject(obj, m)
                if inner and kind(inner) == image:
                    yield inner


# pdfium's bitmap formats: (PIL mode, PIL's raw decoder mode, bytes a pixel)
_PIL_FORMATS = {
    pdfium_c.FPDFBitmap_Gray: ("L", "L", 1),
    pdfium_c.FPDFBitmap_BGR: ("RGB", "BGR", 3),
    pdfium_c.FPDFBitmap_BGRx: ("RGB", "BGRX", 4),
    pdfium_c.FPDFBitmap_BGRA: ("RGBA", "BGRA", 4),
}


@functools.cache
def _numpy() -> ModuleType | None:
    """numpy, loaded at the first QR image rather than with the parsers: every `fapiao` command
    that reads files loads this module, most never decode an image, and numpy's start (its
    BLAS threads spinning awhile) cost each of them a fifth of a second of CPU. None without it
    (it comes with the `ocr` extra): images then go through PIL."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _pixels(raw_bitmap: Any) -> Any:
    """A copy of the bitmap's pixels for zxing, taken straight from pdfium's buffer (pypdfium2's
    bitmap object and its array view cost more than the copy): grey or BGR as a numpy array,
    other formats (or without numpy) as a grey PIL image; None for a format pdfium cannot say."""
    form = pdfium_c.FPDFBitmap_GetFormat(raw_bitmap)
    width = pdfium_c.FPDFBitmap_GetWidth(raw_bitmap)
    height = pdfium_c.FPDFBitmap_GetHeight(raw_bitmap)
    stride = pdfium_c.FPDFBitmap_GetStride(raw_bitmap)
    buffer = pdfium_c.FPDFBitmap_GetBuffer(raw_bitmap)
    if form not in _PIL_FORMATS or width <= 0 or height <= 0 or stride <= 0 or not buffer:
        return None
    mode, raw_mode, size = _PIL_FORMATS[form]
    rows = (ctypes.c_ubyte * (stride * height)).from_address(buffer)
    numpy = _numpy() if form in _AS_ARRAY else None
    if numpy is not None:
        array = numpy.frombuffer(rows, dtype=numpy.uint8).reshape(height, stride)
        array = array[:, : width * size]
        return numpy.ascontiguousarray(array if size == 1 else array.reshape(height, width, size))
    image = Image.frombuffer(mode, (width, height), bytes(rows), "raw", raw_mode, stride, 1)
    return image.convert("L")


def _in_image(obj: Any) -> QrPayload | bool | None:
    """The invoice payload of a QR-sized image; False when it holds a QR code but not an invoice
    payload (a provincial invoice's: rendering will not change it); None when neither."""
    width, height = ctypes.c_uint(), ctypes.c_uint()
    if not pdfium_c.FPDFImageObj_GetImagePixelSize(obj, width, height):
        return None
    w, h = width.value, height.value
    if not (20 <= w <= MAX_QR_IMAGE_SIDE and 20 <= h <= MAX_QR_IMAGE_SIDE):
        return None
    if max(w, h) > 1.3 * min(w, h):
        return None
    raw_bitmap = pdfium_c.FPDFImageObj_GetBitmap(obj)
    if not raw_bitmap:
        return None
    try:
        image = _pixels(raw_bitmap)
        if image is None:
            return None
        # an image object is most often the code itself: read as such first, then searched
        codes = qr_codes(image, pure=True) or qr_codes(image)
    except (ValueError, OSError):
        return None
    finally:
        pdfium_c.FPDFBitmap_Destroy(raw_bitmap)
    for code in codes:
        if code.text.startswith("01,"):
            payload = parse_payload(code.text)
            if payload is not None:
                return payload
    return False if codes else None
