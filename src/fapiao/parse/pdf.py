"""PDF invoices: the text layer read by position (pypdfium2), fields by labels and layout
(`layout`), and the QR code as an independent cross-check of number, date and amount. A page
without a text layer is rendered and read by OCR like a scan (`image`).

Encrypted or broken files are `unreadable`; too many or too large pages are `too_large`.
"""

from __future__ import annotations

import ctypes

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from fapiao.findings import finding
from fapiao.parse import Parsed
from fapiao.parse.layout import Box, to_reads
from fapiao.parse.layouts import extract
from fapiao.parse.pdf_qr import from_page
from fapiao.parse.reading import apply_qr, build, complete_totals

MAX_PAGES = 20
MAX_PAGE_PT = 14400  # 5 m, the largest page PDF allows; an invoice is ~600 pt wide
MAX_PAGE_AREA = 3370 * 2384  # A0 landscape in pt²
MIN_TEXT_CHARS = 20
SOURCE = "text"
OCR_DPI = 200
_RUN_CHARS = 2048


def sniff(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def parse(data: bytes) -> list[Parsed]:
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            return [Parsed(None, [finding("unreadable", detail="encrypted PDF (password)")])]
        return [Parsed(None, [finding("unreadable", detail=f"broken PDF: {text}")])]
    try:
        return _document(doc)
    except pdfium.PdfiumError as exc:  # a page or its text that pdfium cannot load
        return [Parsed(None, [finding("unreadable", detail=f"broken PDF: {exc}")])]
    finally:
        doc.close()


def _document(doc: pdfium.PdfDocument) -> list[Parsed]:
    count = len(doc)
    if count == 0:
        return [Parsed(None, [finding("unreadable", detail="PDF without pages")])]
    if count > MAX_PAGES:
        return [Parsed(None, [finding("too_large", detail=f"{count} pages > {MAX_PAGES}")])]
    out: list[Parsed] = []
    for index in range(count):
        page = doc[index]
        try:
            parsed = _page(page)
        finally:
            page.close()
        if parsed is None:
            continue
        if count > 1:
            parsed.label = f"[page {index + 1}]"
        out.append(parsed)
        if any(f.code == "too_large" for f in parsed.findings):
            break
    if not out:
        return [Parsed(None, [finding("unreadable", detail="no invoice found in the PDF")])]
    numbered = [p for p in out if p.invoice is not None]
    return numbered or out[:1]


def _page(page: pdfium.PdfPage) -> Parsed | None:
    width, height = page.get_size()
    if width > MAX_PAGE_PT or height > MAX_PAGE_PT or width * height > MAX_PAGE_AREA:
        return Parsed(None, [finding("too_large", detail=f"page {width:.0f}×{height:.0f} pt")])
    boxes = _text_boxes(page, height)
    if sum(len(b.key) for b in boxes) < MIN_TEXT_CHARS:
        return _ocr(page)
    fields = extract(boxes)
    if not fields.number and not fields.total:
        return None
    reads = to_reads(fields, SOURCE)
    qr = from_page(page)
    findings = apply_qr(reads, qr) if qr is not None else []
    complete_totals(reads)
    inv, more = build(reads)
    return Parsed(inv, findings + more, fields=reads)


def _text_boxes(page: pdfium.PdfPage, height: float) -> list[Box]:
    """Text runs (pdfium's text rectangles) with their text, y measured from the top."""
    textpage = page.get_textpage()
    raw = textpage.raw
    buffer = (ctypes.c_ushort * _RUN_CHARS)()
    left, bottom, right, top = (ctypes.c_double() for _ in range(4))
    try:
        boxes = []
        for n in range(pdfium_c.FPDFText_CountRects(raw, 0, -1)):
            if not pdfium_c.FPDFText_GetRect(raw, n, left, top, right, bottom):
                continue
            size = pdfium_c.FPDFText_GetBoundedText(
                raw, left.value, top.value, right.value, bottom.value, buffer, _RUN_CHARS
            )
            text = bytes(buffer)[: 2 * size].decode("utf-16-le", errors="replace").split("\x00")[0]
            if text.strip():
                boxes.append(
                    Box(text, left.value, height - top.value, right.value, height - bottom.value)
                )
        return boxes
    finally:
        textpage.close()


def _ocr(page: pdfium.PdfPage) -> Parsed:
    """A scanned PDF: the page rendered and read like a photo."""
    from fapiao.parse.image import parse_picture

    return parse_picture(page.render(scale=OCR_DPI / 72).to_pil().convert("RGB"))
