"""The bare limits the parse figures stand beside: what the libraries underneath do with nothing
of ours around them, measured in the same run so that the ratio holds whatever the load.

- `pdf_text(data)`: pypdfium2 opens the PDF and takes each page's text; returns its characters.
- `pdf_text_font_held(data)`: the same with pdfium's substitute Chinese font kept loaded, as the
  parser keeps it (`fapiao.parse.pdf_fonts`): the limit of the same pdfium work the parse does.
  (In a process that has parsed a PDF, `pdf_text` runs with the font held too: the parser holds
  it for the rest of the process, as `bench/parse.py` and `bench/real_pdf_rate.py` do.)
"""

from __future__ import annotations

import pypdfium2 as pdfium


def pdf_text_font_held(data: bytes) -> int:
    from fapiao.parse import pdf_fonts

    pdf_fonts.hold()
    return pdf_text(data)


def pdf_text(data: bytes) -> int:
    doc = pdfium.PdfDocument(data)
    try:
        chars = 0
        for index in range(len(doc)):
            page = doc[index]
            text = page.get_textpage()
            chars += len(text.get_text_range())
            text.close()
            page.close()
        return chars
    finally:
        doc.close()
