"""pdfium's substitute CJK font, kept loaded for the life of the process.

Invoices from the older issuing software, and many drawn by other programs, name Chinese fonts
they do not embed (STSong-Light, SimSun …); pdfium then loads a font of the machine in their
place. It keeps a font file loaded only while a document that uses it is open: each such PDF read
the whole file again (wqy-zenhei.ttc, 16.8 MB), about half of pdfium's time on such a file (a
folder of mixed invoices: 3.3 ms a file in pdfium alone, 1.8 ms with the font kept). `hold()`
opens, once, a one-page document of our own that names those fonts, and keeps it open, so the
font files it pulls in stay loaded for every PDF read after it. The fonts pdfium picks, and so
every character's box, are the same either way: only the re-reading is saved. The price is the
font file held in memory by each process that parses PDFs (17 MB for wqy-zenhei).
"""

from __future__ import annotations

import threading
from typing import Any

import pypdfium2 as pdfium

# Chinese fonts invoices name without embedding them, by their PostScript names; each may resolve
# to another font file of the machine (serif, sans, 楷体, 仿宋), so each is named once
FONTS = ("STSong-Light", "SimSun", "SimHei", "KaiTi", "FangSong")

_held: list[Any] = []  # [document, page]: open until the process ends
_lock = threading.Lock()


def hold() -> None:
    """Loads the substitute fonts, once per process (later calls return at once)."""
    if _held:
        return
    with _lock:
        if _held:
            return
        try:
            doc = pdfium.PdfDocument(anchor_pdf())
            _held.extend([doc, doc[0]])  # the page's fonts are loaded with its content
        except pdfium.PdfiumError:  # no worse than before: each document loads its own
            _held.append(None)


def anchor_pdf() -> bytes:
    """A one-page PDF showing one character (中, U+4E2D) in each of FONTS, none embedded: Type 0
    fonts with Adobe-GB1 CIDFontType0 descendants and the UniGB-UCS2-H encoding, as the older
    issuing software writes them."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    ]
    first_font = 5  # objects 1-2 above, 3 the page, 4 its content, then three per font
    names = b" ".join(b"/F%d %d 0 R" % (n, first_font + 3 * n) for n in range(len(FONTS)))
    objects.append(
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] "
        b"/Resources << /Font << " + names + b" >> >> /Contents 4 0 R >>"
    )
    shows = b" ".join(
        b"BT /F%d 12 Tf %d 40 Td <4e2d> Tj ET" % (n, 10 + 20 * n) for n in range(len(FONTS))
    )
    objects.append(b"<< /Length %d >>\nstream\n" % len(shows) + shows + b"\nendstream")
    for n, font in enumerate(FONTS):
        name = font.encode()
        own = first_font + 3 * n
        objects.append(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /" + name + b" /Encoding /UniGB-UCS2-H "
            b"/DescendantFonts [%d 0 R] >>" % (own + 1)
        )
        objects.append(
            b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /" + name + b" "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
            b"/FontDescriptor %d 0 R /DW 1000 >>" % (own + 2)
        )
        objects.append(
            b"<< /Type /FontDescriptor /FontName /" + name + b" /Flags 6 "
            b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
            b"/CapHeight 880 /StemV 93 >>"
        )
    return _with_xref(objects)


def _with_xref(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
