"""The CJK font every generated PDF is set in, embedded as a subset so any reader shows the text.

reportlab's built-in CID fonts (STSong-Light) are never embedded: a reader without the Adobe Asian
font packs (poppler, pdf.js, most printers' RIPs) shows blank text. So every PDF the project makes
(printouts, the 情况说明, sample invoices) registers a TrueType font from a file and reportlab embeds
the glyphs it used. The file is WenQuanYi Zen Hei, installed by scripts/system-deps.sh (package
fonts-wqy-zenhei); `FAPIAO_CJK_FONT` names another TrueType/TrueType-collection file (a collection's
first face is used). There is no silent fallback: without the file, making a PDF raises
`FontMissing` carrying a finding that says what to install.
"""

from __future__ import annotations

import os
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from fapiao.findings import Finding, finding

FONT_ENV = "FAPIAO_CJK_FONT"
DEFAULT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
NAME = "FapiaoCJK"


class FontMissing(RuntimeError):
    """No usable CJK font file: a PDF cannot be made that every reader shows."""

    def __init__(self, found: Finding) -> None:
        super().__init__(f"{found.message} / {found.message_en}")
        self.finding = found


def font_file() -> Path:
    configured = os.environ.get(FONT_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_FILE


def cjk_font() -> str:
    """The registered font's name (registered once per process); FontMissing if it cannot be."""
    if NAME in pdfmetrics.getRegisteredFontNames():
        return NAME
    path = font_file()
    if not path.is_file():
        raise FontMissing(finding("pdf_font_missing", "font", detail=str(path)))
    try:
        # subfontIndex picks the face in a .ttc; reportlab subsets and embeds what is drawn
        pdfmetrics.registerFont(TTFont(NAME, str(path), subfontIndex=0))
    except (TTFError, OSError) as exc:
        raise FontMissing(finding("pdf_font_missing", "font", detail=f"{path}: {exc}")) from exc
    return NAME
