"""The bare limits the parse figures stand beside: what the libraries underneath do with nothing
of ours around them, measured in the same run so that the ratio holds whatever the load.

- `pdf_text(data)`: pypdfium2 opens the PDF and takes each page's text; returns its characters.
"""

from __future__ import annotations

import pypdfium2 as pdfium


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
