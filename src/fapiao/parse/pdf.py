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
from fapiao.parse import Parsed, older_list
from fapiao.parse.layout import Box, Fields, to_reads
from fapiao.parse.layouts import extract
from fapiao.parse.pdf_qr import from_page
from fapiao.parse.reading import Reads, apply_qr, build, complete_totals

MAX_PAGES = 20
MAX_PAGE_PT = 14400  # 5 m, the largest page PDF allows; an invoice is ~600 pt wide
MAX_PAGE_AREA = 3370 * 2384  # A0 landscape in pt²
MIN_TEXT_CHARS = 20
SOURCE = "text"
OCR_DPI = 200
MAX_PAGE_CHARS = 200_000  # an invoice page has about a thousand
_LIST = "销货清单"  # the label of a list page's reading until it joins its invoice


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
    finally:
        doc.close()


def _document(doc: pdfium.PdfDocument) -> list[Parsed]:
    count = len(doc)
    if count == 0:
        return [Parsed(None, [finding("unreadable", detail="PDF without pages")])]
    if count > MAX_PAGES:
        return [Parsed(None, [finding("too_large", detail=f"{count} pages > {MAX_PAGES}")])]
    out: list[Parsed] = []
    listed: list[Parsed] = []
    for index in range(count):
        page = doc[index]
        try:
            parsed = _page(page)
        finally:
            page.close()
        if parsed is None:
            continue
        if parsed.label == _LIST:
            invoice = out[-1] if out else None
            known = any(p is invoice for p in listed)
            if invoice is not None and (known or _refers_to_list(invoice)):
                _add_items(invoice, parsed.fields, first=not known)
                if not known:
                    listed.append(invoice)
            continue
        if count > 1:
            parsed.label = f"[page {index + 1}]"
        out.append(parsed)
        if any(f.code == "too_large" for f in parsed.findings):
            break
    for parsed in listed:  # the invoice again, with the items of its list
        parsed.invoice, more = build(parsed.fields)
        parsed.findings = [f for f in parsed.findings if f.code == "source_mismatch"] + more
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
        rows = older_list.items(boxes)
        if not rows:
            return None
        items = {k: v for k, v in to_reads(Fields(items=rows), SOURCE).items() if "[" in k}
        return Parsed(None, label=_LIST, fields=items)
    reads = to_reads(fields, SOURCE)
    qr = from_page(page)
    findings = apply_qr(reads, qr) if qr is not None else []
    complete_totals(reads)
    inv, more = build(reads)
    return Parsed(inv, findings + more, fields=reads)


def _refers_to_list(parsed: Parsed) -> bool:
    """The invoice's one item line reads （详见销货清单）: its items are on the following pages."""
    names = [r.value for k, r in parsed.fields.items() if k.endswith("].name")]
    return len(names) == 1 and "清单" in names[0] and "items[2].amount" not in parsed.fields


def _add_items(parsed: Parsed, items: Reads, *, first: bool) -> None:
    """A list page's items after those already taken from the list (they replace the invoice's
    （详见销货清单） line)."""
    if first:
        parsed.fields = {k: v for k, v in parsed.fields.items() if not k.startswith("items[")}
    taken = {k.partition("]")[0] for k in parsed.fields if k.startswith("items[")}
    for key, read in items.items():
        number, _, rest = key.removeprefix("items[").partition("]")
        parsed.fields[f"items[{int(number) + len(taken)}]{rest}"] = read


def _text_boxes(page: pdfium.PdfPage, height: float) -> list[Box]:
    """Text runs (pdfium's text rectangles), y measured from the top. Each character goes to the
    one rectangle that holds its centre: asking pdfium for the text inside a rectangle instead
    repeats the characters of every overlapping run, and the older invoices print their data
    layer over the template's (`年2022 03 01 月`, a seal's letters in every word they cross)."""
    textpage = page.get_textpage()
    raw = textpage.raw
    left, bottom, right, top = (ctypes.c_double() for _ in range(4))
    try:
        rects = []
        for n in range(pdfium_c.FPDFText_CountRects(raw, 0, -1)):
            if pdfium_c.FPDFText_GetRect(raw, n, left, top, right, bottom):
                rects.append((left.value, bottom.value, right.value, top.value))
        texts: list[list[str]] = [[] for _ in rects]
        current = 0
        for index in range(min(pdfium_c.FPDFText_CountChars(raw), MAX_PAGE_CHARS)):
            char = chr(pdfium_c.FPDFText_GetUnicode(raw, index))
            if char.isspace() or not pdfium_c.FPDFText_GetCharBox(
                raw, index, left, right, bottom, top
            ):
                if char == " " and rects and texts[current]:
                    texts[current].append(" ")
                continue
            x, y = (left.value + right.value) / 2, (bottom.value + top.value) / 2
            current = _rect_of(rects, current, x, y)
            texts[current].append(char)
        return [
            Box("".join(chars), x0, height - y1, x1, height - y0)
            for (x0, y0, x1, y1), chars in zip(rects, texts, strict=True)
            if "".join(chars).strip()
        ]
    finally:
        textpage.close()


def _rect_of(
    rects: list[tuple[float, float, float, float]], current: int, x: float, y: float
) -> int:
    """The rectangle holding the point: pdfium lays them out in character order, so it is the
    current one or the next, and only rarely another."""

    def holds(n: int) -> bool:
        x0, y0, x1, y1 = rects[n]
        return x0 - 0.5 <= x <= x1 + 0.5 and y0 - 0.5 <= y <= y1 + 0.5

    for n in (current, current + 1):
        if n < len(rects) and holds(n):
            return n
    return next((n for n in range(len(rects)) if holds(n)), current)


def _ocr(page: pdfium.PdfPage) -> Parsed:
    """A scanned PDF: the page rendered and read like a photo."""
    from fapiao.parse.image import parse_picture

    return parse_picture(page.render(scale=OCR_DPI / 72).to_pil().convert("RGB"))
