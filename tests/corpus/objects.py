"""The text objects of a PDF page in content-stream order, with their font, size and position, as
pdfium sees them: to check that a file keeps its form and its data apart, and in which order, and
to measure real files (`python -m tests.corpus.objects FILE.pdf` lists them; the layouts in
`older` and `digital` were measured that way on tests/data/samples/pdf)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as raw

PT_MM = 25.4 / 72


@dataclass(frozen=True)
class TextObject:
    text: str
    font: str
    left: float  # mm from the left edge
    top: float  # mm from the top edge
    size: float  # font size in pt, times the text matrix's scale


def _text(obj: pdfium.PdfObject, textpage: pdfium.PdfTextPage) -> str:
    size = raw.FPDFTextObj_GetText(obj.raw, textpage.raw, None, 0)
    buf = ctypes.create_string_buffer(size * 2)
    out = ctypes.cast(buf, ctypes.POINTER(ctypes.c_ushort))
    raw.FPDFTextObj_GetText(obj.raw, textpage.raw, out, size)
    return buf.raw.decode("utf-16-le", "ignore").rstrip("\x00")


def _font(obj: pdfium.PdfObject) -> str:
    font = raw.FPDFTextObj_GetFont(obj.raw)
    buf = ctypes.create_string_buffer(256)
    raw.FPDFFont_GetBaseFontName(font, buf, 256)
    return buf.value.decode("latin-1").split("+")[-1]


def text_objects(pdf: bytes, page_index: int = 0) -> list[TextObject]:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[page_index]
        height = page.get_height()
        textpage = page.get_textpage()
        out = []
        for obj in page.get_objects(filter=[raw.FPDF_PAGEOBJ_TEXT]):
            left, _, _, top = obj.get_bounds()
            size = ctypes.c_float()
            raw.FPDFTextObj_GetFontSize(obj.raw, ctypes.byref(size))
            scale = obj.get_matrix().get()[3]
            text, font = _text(obj, textpage), _font(obj)
            out.append(
                TextObject(text, font, left * PT_MM, (height - top) * PT_MM, size.value * scale)
            )
        textpage.close()
        page.close()
        return out
    finally:
        doc.close()


def main(argv: list[str]) -> None:
    import sys
    from pathlib import Path

    for name in argv:
        data = Path(name).read_bytes()
        for n in range(len(pdfium.PdfDocument(data))):
            for o in text_objects(data, n):
                line = f"{n} {o.left:6.1f} {o.top:6.1f} {o.size:5.1f} {o.font:24} {o.text!r}\n"
                sys.stdout.write(line)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
