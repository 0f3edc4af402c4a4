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

import hashlib
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
    """The registered font's name (each file registered once per process, under its own name, so
    the setting is honoured whenever it changes); FontMissing if it cannot be."""
    path = font_file()
    name = NAME if path == DEFAULT_FILE else f"{NAME}-{hashlib.sha1(bytes(path)).hexdigest()[:8]}"
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    if not path.is_file():
        raise FontMissing(finding("pdf_font_missing", "font", detail=str(path)))
    try:
        # subfontIndex picks the face in a .ttc; reportlab subsets and embeds what is drawn
        pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    except (TTFError, OSError) as exc:
        raise FontMissing(finding("pdf_font_missing", "font", detail=f"{path}: {exc}")) from exc
    return name
