"""A PDF page's text runs (pdfium's text rectangles) with the characters each one holds.

Each character goes to the one rectangle that holds its centre: asking pdfium for the text inside
a rectangle instead repeats the characters of every overlapping run, and the older invoices print
their data layer over the template's (`年2022 03 01 月`, a seal's letters in every word they cross).

A page has about a thousand characters and every call through ctypes costs a microsecond or more,
so the page's text comes in one call (`FPDFText_GetText`) and only the box of each printed
character is asked for one by one. A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from fapiao.parse.layout import Box
from fapiao.parse.pdf_pages import normalise

MAX_PAGE_CHARS = 200_000  # an invoice page has about a thousand
SLACK = 0.5  # pt a character's centre may lie outside its rectangle (rounding of the boxes)

Rect = tuple[float, float, float, float]


def text_boxes(page: pdfium.PdfPage, height: float) -> list[Box]:
    """Text runs of the page, y measured from the top, empty runs left out."""
    raw = pdfium_c.FPDFText_LoadPage(page.raw)  # pypdfium2's wrapper costs more than it saves here
    if not raw:
        raise pdfium.PdfiumError("Failed to load text page.")
    try:
        rects = _rects(raw)
        chars = _chars(raw, min(pdfium_c.FPDFText_CountChars(raw), MAX_PAGE_CHARS))
        texts = _assign(raw, rects, chars)
    finally:
        pdfium_c.FPDFText_ClosePage(raw)
    out = []
    for (x0, y0, x1, y1), parts in zip(rects, texts, strict=True):
        text = "".join(parts)
        if text.strip():
            out.append(Box(normalise(text), x0, height - y1, x1, height - y0))
    return out


def _rects(raw: pdfium_c.FPDF_TEXTPAGE) -> list[Rect]:
    left, bottom, right, top = (ctypes.c_double() for _ in range(4))
    get = pdfium_c.FPDFText_GetRect
    rects = []
    for n in range(pdfium_c.FPDFText_CountRects(raw, 0, -1)):
        if get(raw, n, left, top, right, bottom):
            rects.append((left.value, bottom.value, right.value, top.value))
    return rects


def _chars(raw: pdfium_c.FPDF_TEXTPAGE, count: int) -> str:
    """The first `count` characters of the page, one per character index. The page's text in one
    call is that when it has exactly one entry per character (pdfium leaves control characters
    out of it); otherwise each character is asked for."""
    if count <= 0:
        return ""
    buffer = (ctypes.c_ushort * (2 * count + 1))()
    written = pdfium_c.FPDFText_GetText(raw, 0, count, buffer)
    try:
        text = bytes(buffer)[: 2 * max(written - 1, 0)].decode("utf-16-le")
    except UnicodeDecodeError:
        text = ""
    if len(text) == count and pdfium_c.FPDFText_GetCharIndexFromTextIndex(raw, count - 1) == (
        count - 1
    ):
        return text
    unicode = pdfium_c.FPDFText_GetUnicode
    return "".join(chr(unicode(raw, index)) for index in range(count))


def _assign(raw: pdfium_c.FPDF_TEXTPAGE, rects: list[Rect], chars: str) -> list[list[str]]:
    """Each printed character into the rectangle holding its centre. pdfium lays the rectangles
    out in character order, so that is the current one or the next, and only rarely another; a
    space goes with the character before it."""
    texts: list[list[str]] = [[] for _ in rects]
    if not rects:
        return texts
    loose = [(x0 - SLACK, y0 - SLACK, x1 + SLACK, y1 + SLACK) for x0, y0, x1, y1 in rects]
    last = len(loose) - 1
    left, right, bottom, top = (ctypes.c_double() for _ in range(4))
    box, page = _char_box(), ctypes.c_void_p(ctypes.cast(raw, ctypes.c_void_p).value)
    to_left, to_right, to_bottom, to_top = (ctypes.byref(v) for v in (left, right, bottom, top))
    current = 0
    for index, char in enumerate(chars):
        if char.isspace():
            if char == " " and texts[current]:
                texts[current].append(" ")
            continue
        if not box(page, index, to_left, to_right, to_bottom, to_top):
            continue
        x = (left.value + right.value) / 2
        y = (bottom.value + top.value) / 2
        x0, y0, x1, y1 = loose[current]
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            current = _rect_of(loose, current, last, x, y)
        texts[current].append(char)
    return texts


@functools.cache
def _char_box() -> Callable[..., Any]:
    """FPDFText_GetCharBox called with its arguments as they are, made once a process (the page
    as a pointer, the index an int, the four doubles by reference): ctypes then converts nothing,
    and a call costs 0.40 µs instead of 0.72 µs, for each of a page's thousand characters."""
    address = ctypes.cast(pdfium_c.FPDFText_GetCharBox, ctypes.c_void_p).value
    call = ctypes.CFUNCTYPE(ctypes.c_int)(address)
    call.argtypes = None  # (FPDF_TEXTPAGE, int, double*, double*, double*, double*) -> FPDF_BOOL
    return call


def _rect_of(loose: list[Rect], current: int, last: int, x: float, y: float) -> int:
    if current < last:
        x0, y0, x1, y1 = loose[current + 1]
        if x0 <= x <= x1 and y0 <= y <= y1:
            return current + 1
    for n, (x0, y0, x1, y1) in enumerate(loose):
        if x0 <= x <= x1 and y0 <= y <= y1:
            return n
    return current
