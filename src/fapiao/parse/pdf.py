"""PDF invoices: the text layer read by position (pypdfium2), fields by labels and layout
(`layouts`), and the QR code as the floor for kind, number, date and amount. A page without a
usable text layer (none, or fonts without a Unicode map) is rendered and read by OCR like a scan
(`image`). The pages of one invoice (items going on over several pages, a 销货清单) make one
invoice (`pdf_pages`); a PDF of several invoices gives each.

Encrypted or broken files are `unreadable`; too many or too large pages are `too_large`.
"""

from __future__ import annotations

import pypdfium2 as pdfium

from fapiao.findings import finding
from fapiao.parse import Parsed, older_list, pdf_fonts
from fapiao.parse.layout import Fields, to_reads
from fapiao.parse.layouts import extract
from fapiao.parse.ofd_crosscheck import QrPayload
from fapiao.parse.pdf_pages import (
    group,
    list_title,
    merge,
    usable,
    worth_a_picture,
)
from fapiao.parse.pdf_qr import from_page
from fapiao.parse.pdf_scans import join
from fapiao.parse.pdf_text import text_boxes
from fapiao.parse.reading import apply_qr, build, complete_totals

MAX_PAGES = 20
MAX_PAGE_PT = 14400  # 5 m, the largest page PDF allows; an invoice is ~600 pt wide
MAX_PAGE_AREA = 3370 * 2384  # A0 landscape in pt²
SOURCE = "text"
OCR_DPI = 200


def sniff(data: bytes) -> bool:
    return b"%PDF-" in data[:1024]


def parse(data: bytes) -> list[Parsed]:
    pdf_fonts.hold()  # a PDF that names a Chinese font it does not embed: not read from disk again
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc)
        if "password" in text.lower():
            return [_unreadable("PDF 已加密（需要密码）", "encrypted PDF (password)")]
        return [_unreadable(f"PDF 已损坏：{text}", f"broken PDF: {text}")]
    try:
        return _document(doc)
    except pdfium.PdfiumError as exc:  # a page or its text that pdfium cannot load
        return [_unreadable(f"PDF 已损坏：{exc}", f"broken PDF: {exc}")]
    finally:
        doc.close()


def _unreadable(detail: str, detail_en: str) -> Parsed:
    return Parsed(None, [finding("unreadable", detail=detail, detail_en=detail_en)])


def _document(doc: pdfium.PdfDocument) -> list[Parsed]:
    count = len(doc)
    if count == 0:
        return [_unreadable("PDF 没有页面", "PDF without pages")]
    if count > MAX_PAGES:
        detail, detail_en = f"{count} 页，上限 {MAX_PAGES} 页", f"{count} pages > {MAX_PAGES}"
        return [Parsed(None, [finding("too_large", detail=detail, detail_en=detail_en)])]
    texts: list[tuple[int, Fields]] = []
    out: list[tuple[int, Parsed]] = []
    kept: dict[int, pdfium.PdfPage] = {}  # text pages stay open until their QR is read
    try:
        for index in range(count):
            page = doc[index]
            read = _page(page)
            if isinstance(read, Fields):
                texts.append((index, read))
                kept[index] = page
            else:
                page.close()
            if isinstance(read, Parsed):
                out.append((index, read))
                if any(f.code == "too_large" for f in read.findings):
                    break
        out = join(out)
        for pages in group(texts):
            qr = from_page(kept[pages.first])
            out.append((pages.first, _invoice(merge(pages.pages), qr)))
    finally:
        for page in kept.values():
            page.close()
    out.sort(key=lambda item: item[0])
    if not out:
        return [_unreadable("PDF 中没有找到发票", "no invoice found in the PDF")]
    if count > 1:
        for index, parsed in out:
            parsed.label = f"[page {index + 1}]"
    found = [p for _, p in out]
    numbered = [p for p in found if p.invoice is not None]
    return numbered or found[:1]


def _page(page: pdfium.PdfPage) -> Fields | Parsed | None:
    """A page's fields as printed, or the invoice read from its picture, or None (no invoice)."""
    width, height = page.get_size()
    if width > MAX_PAGE_PT or height > MAX_PAGE_PT or width * height > MAX_PAGE_AREA:
        size = f"{width:.0f}×{height:.0f} pt"
        return Parsed(None, [finding("too_large", detail=f"页面 {size}", detail_en=f"page {size}")])
    boxes = text_boxes(page, height)
    if not usable(boxes):
        return _ocr(page)
    fields = extract(boxes)
    title = list_title(boxes)
    fields.title = title or fields.title
    if title and not fields.items:  # an older invoice's 销货清单: its own table reader
        fields.items = older_list.items(boxes) or []
    if fields.number or fields.total or fields.items:
        return fields
    return _ocr(page) if worth_a_picture(boxes) else None


def _invoice(fields: Fields, qr: QrPayload | None) -> Parsed:
    reads = to_reads(fields, SOURCE)
    findings = apply_qr(reads, qr) if qr is not None else []
    complete_totals(reads)
    inv, more = build(reads)
    return Parsed(inv, findings + more, fields=reads)


def _ocr(page: pdfium.PdfPage) -> Parsed:
    """A scanned PDF: the page rendered and read like a photo."""
    from fapiao.parse.image import parse_picture

    return parse_picture(page.render(scale=OCR_DPI / 72).to_pil().convert("RGB"))
