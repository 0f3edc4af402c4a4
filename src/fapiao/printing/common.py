"""Shared by the printouts: the font, paragraph styles, labels for the ledger's codes."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from fapiao.pdffont import cjk_font
from fapiao.vocabulary import shown

INK = colors.HexColor("#8c3a12")  # the brown of the printed forms
RULE = colors.HexColor("#b07a5a")

KINDS = {
    "digital_special": "电子发票（增值税专用发票）",
    "digital_normal": "电子发票（普通发票）",
    "vat_electronic_special": "增值税电子专用发票",
    "vat_electronic_normal": "增值税电子普通发票",
    "vat_special": "增值税专用发票",
    "vat_normal": "增值税普通发票",
    "other": "其他发票",
}
SHORT_KINDS = {
    "digital_special": "数电专票",
    "digital_normal": "数电普票",
    "vat_electronic_special": "电子专票",
    "vat_electronic_normal": "电子普票",
    "vat_special": "纸质专票",
    "vat_normal": "纸质普票",
    "other": "其他",
}
STATUSES = {"normal": "正常", "red": "红字", "void": "作废"}
DIRECTIONS = {"issued": "销项", "received": "进项"}
STATES = {
    "local": "未上传",
    "queued": "待上传",
    "uploaded": "已上传",
    "confirmed": "平台已确认",
    "missing": "平台缺失",
    "mismatch": "与平台不符",
}


def font() -> str:
    """The CJK font's name: embedded as a subset (fapiao.pdffont); FontMissing without its file."""
    return cjk_font()


def style(name: str, size: float, **kw: object) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=font(), fontSize=size, leading=size * 1.3, wordWrap="CJK", **kw
    )


def para(value: object, st: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: whatever the data holds (<, &, numbers, None) is printed as is,
    never read as markup."""
    return Paragraph(escape("" if value is None else str(value)), st)


def label(table: dict[str, str], code: str | None) -> str:
    return table.get(code or "", code or "")


def footer(text: str) -> Any:
    """A page callback: the footer line and the page number on every page."""

    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font(), 7.5)
        canvas.setFillColor(colors.grey)
        width = doc.pagesize[0]
        canvas.drawString(36, 20, text)
        canvas.drawRightString(width - 36, 20, f"第 {canvas.getPageNumber()} 页")
        canvas.restoreState()

    return draw


def printed_at(now: dt.datetime | None = None) -> str:
    """When it was printed, in Beijing time with the zone named (`vocabulary.shown`)."""
    return shown(now or dt.datetime.now(dt.UTC))
