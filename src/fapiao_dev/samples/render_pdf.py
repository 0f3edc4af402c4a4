"""Invoices as PDF pages drawn with reportlab in the printed layouts: the 数电票 layout (buyer and
seller side by side) and the older 增值税电子发票 layout (buyer on top, seller below, 密码区).

The CJK font is embedded (a subset of the project's font, fapiao.pdffont); the QR code is an image with the real payload.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

import segno
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from fapiao.model import Invoice, Kind, LineItem
from fapiao.money import format_fen, to_words
from fapiao.pdffont import DEFAULT_FILE, cjk_font
from fapiao_dev.samples.corpus import qr_payload
from fapiao_dev.samples.render_xml import rate_text, tax_text

FONT = ""  # set by _font()
CJK_FONT_FILE = str(DEFAULT_FILE)
PAGE_W, PAGE_H = 210.0, 140.0  # mm, the size of a printed 发票
INK = (0.55, 0.25, 0.1)  # the brown of the printed form
_registered = False

# Item table columns (left, right) in mm.
COLUMNS = {
    "name": (5, 60),
    "spec": (60, 82),
    "unit": (82, 94),
    "quantity": (94, 110),
    "unit_price": (110, 133),
    "amount": (133, 158),
    "tax_rate": (158, 175),
    "tax": (175, 205),
}
_REGION = {"1100": "北京", "3100": "上海", "4403": "深圳", "3300": "浙江", "3200": "江苏"}


def _font() -> None:
    """Embeds a subset of the project's CJK font (fapiao.pdffont), as real invoices embed theirs."""
    global _registered, FONT
    if not _registered:
        FONT = cjk_font()
        _registered = True


class _Page:
    """Drawing in mm from the top-left corner, as the paper is measured."""

    def __init__(self, c: canvas.Canvas) -> None:
        self.c = c

    def text(
        self, x: float, y: float, s: str, size: float = 9, align: str = "left", ink: bool = False
    ) -> None:
        if not s:
            return
        c = self.c
        c.setFillColorRGB(*(INK if ink else (0, 0, 0)))
        c.setFont(FONT, size)
        draw: Callable[[float, float, str], None] = {
            "left": c.drawString,
            "right": c.drawRightString,
            "center": c.drawCentredString,
        }[align]
        draw(x * mm, (PAGE_H - y) * mm, s)

    def line(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.c.line(x0 * mm, (PAGE_H - y0) * mm, x1 * mm, (PAGE_H - y1) * mm)

    def rect(self, x0: float, y0: float, x1: float, y1: float) -> None:
        self.c.rect(x0 * mm, (PAGE_H - y1) * mm, (x1 - x0) * mm, (y1 - y0) * mm)

    def vertical(self, x: float, y: float, s: str, step: float = 4.2) -> None:
        for n, ch in enumerate(s):
            self.text(x, y + n * step, ch, 8.5, ink=True)

    def qr(self, x: float, y: float, size: float, payload: str) -> None:
        buf = io.BytesIO()
        segno.make(payload, error="m", micro=False).save(buf, kind="png", scale=4, border=2)
        buf.seek(0)
        self.c.drawImage(ImageReader(buf), x * mm, (PAGE_H - y - size) * mm, size * mm, size * mm)


def _title(inv: Invoice) -> str:
    if inv.kind is Kind.DIGITAL_SPECIAL:
        return "电子发票（增值税专用发票）"
    if inv.kind is Kind.DIGITAL_NORMAL:
        return "电子发票（普通发票）"
    region = _REGION.get(inv.code[1:5], "")
    words = {
        Kind.VAT_ELECTRONIC_SPECIAL: "增值税电子专用发票",
        Kind.VAT_ELECTRONIC_NORMAL: "增值税电子普通发票",
        Kind.VAT_SPECIAL: "增值税专用发票",
        Kind.VAT_NORMAL: "增值税普通发票",
    }
    return region + words.get(inv.kind, "发票")


def _wrap(name: str, width_mm: float, size: float) -> list[str]:
    lines, cur = [], ""
    for ch in name:
        if pdfmetrics.stringWidth(cur + ch, FONT, size) / mm > width_mm:
            lines.append(cur)
            cur = ""
        cur += ch
    return [*lines, cur]


def _items(p: _Page, items: tuple[LineItem, ...], header_y: float, name_label: str) -> None:
    labels = {
        "name": name_label,
        "spec": "规格型号",
        "unit": "单位",
        "quantity": "数量",
        "unit_price": "单价",
        "amount": "金额",
        "tax_rate": "税率/征收率",
        "tax": "税额",
    }
    for key, (x0, x1) in COLUMNS.items():
        p.text((x0 + x1) / 2, header_y, labels[key], 9, "center", ink=True)
    y = header_y + 6
    size = 8.5
    for item in items:
        x0, x1 = COLUMNS["name"]
        names = _wrap(item.name, x1 - x0 - 3, size)
        p.text(x0 + 1.5, y, names[0], size)
        p.text(sum(COLUMNS["spec"]) / 2, y, item.spec, size, "center")
        p.text(sum(COLUMNS["unit"]) / 2, y, item.unit, size, "center")
        p.text(COLUMNS["quantity"][1] - 1.5, y, item.quantity, size, "right")
        p.text(COLUMNS["unit_price"][1] - 1.5, y, item.unit_price, size, "right")
        p.text(COLUMNS["amount"][1] - 1.5, y, format_fen(item.amount), size, "right")
        p.text(
            sum(COLUMNS["tax_rate"]) / 2, y, rate_text(item.tax_rate, percent=True), size, "center"
        )
        p.text(COLUMNS["tax"][1] - 1.5, y, tax_text(item), size, "right")
        for more in names[1:]:
            y += 4.5
            p.text(x0 + 1.5, y, more, size)
        y += 5


def _totals(p: _Page, inv: Invoice, sum_y: float, words_y: float) -> None:
    p.text(20, sum_y, "合　　计", 9, ink=True)
    p.text(COLUMNS["amount"][1] - 1.5, sum_y, "¥" + format_fen(inv.amount), 9, "right")
    p.text(COLUMNS["tax"][1] - 1.5, sum_y, "¥" + format_fen(inv.tax), 9, "right")
    p.text(8, words_y, "价税合计（大写）", 9, ink=True)
    c = p.c
    c.circle(52 * mm, (PAGE_H - words_y + 1.1) * mm, 1.6 * mm)
    p.text(56, words_y, to_words(inv.total), 9.5)
    p.text(140, words_y, "（小写）", 9, ink=True)
    p.text(154, words_y, "¥" + format_fen(inv.total), 9.5)


def _digital(p: _Page, inv: Invoice, payload: str) -> None:
    p.qr(8, 4, 20, payload)
    title = _title(inv)
    p.text(105, 14, title, 15, "center", ink=True)
    half = pdfmetrics.stringWidth(title, FONT, 15) / mm / 2
    p.line(105 - half, 16, 105 + half, 16)
    p.line(105 - half, 16.8, 105 + half, 16.8)
    p.text(143, 12, "发票号码：", 9, ink=True)
    p.text(160, 12, inv.number, 9)
    p.text(143, 19, "开票日期：", 9, ink=True)
    p.text(160, 19, f"{inv.issue_date:%Y年%m月%d日}", 9)
    p.rect(5, 26, 205, 122)
    p.line(5, 48, 205, 48)
    p.line(105, 26, 105, 48)
    for x0, label, party in ((5, "购买方信息", inv.buyer), (105, "销售方信息", inv.seller)):
        p.line(x0 + 6, 26, x0 + 6, 48)
        p.vertical(x0 + 1.3, 29.5, label)
        p.text(x0 + 8, 34, "名称：", 9, ink=True)
        p.text(x0 + 18, 34, party.name, 9)
        p.text(x0 + 8, 43, "统一社会信用代码/纳税人识别号：", 9, ink=True)
        p.text(x0 + 59, 43, party.tax_id, 9)
    _items(p, inv.items, 53, "项目名称")
    _totals(p, inv, 97, 106.5)
    p.line(5, 100, 205, 100)
    p.line(5, 110, 205, 110)
    p.text(7, 117, "备注", 9, ink=True)
    p.line(16, 110, 16, 122)
    p.text(19, 117, inv.remarks, 9)
    p.text(12, 130, "开票人：", 9, ink=True)
    p.text(26, 130, inv.issuer, 9)


def _cipher(rng: random.Random) -> list[str]:
    alphabet = "0123456789+-*/<>"
    return ["".join(rng.choice(alphabet) for _ in range(27)) for _ in range(4)]


def _older(p: _Page, inv: Invoice, payload: str) -> None:
    p.qr(8, 4, 19, payload)
    title = _title(inv)
    p.text(105, 14, title, 15, "center", ink=True)
    half = pdfmetrics.stringWidth(title, FONT, 15) / mm / 2
    p.line(105 - half, 16, 105 + half, 16)
    p.line(105 - half, 16.8, 105 + half, 16.8)
    check = " ".join(inv.check_code[i : i + 5] for i in range(0, len(inv.check_code), 5))
    for n, (label, value) in enumerate(
        (
            ("发票代码：", inv.code),
            ("发票号码：", inv.number),
            ("开票日期：", f"{inv.issue_date:%Y年%m月%d日}"),
            ("校 验 码：", check),
        )
    ):
        p.text(140, 8 + 5 * n, label, 8.5, ink=True)
        p.text(156, 8 + 5 * n, value, 8.5)
    p.rect(5, 27, 205, 122)
    p.line(5, 47, 205, 47)
    p.line(11, 27, 11, 47)
    p.line(125, 27, 125, 47)
    p.vertical(6.3, 31, "购买方", 5)
    rows = (("名称：", 0), ("纳税人识别号：", 1), ("地址、电话：", 2), ("开户行及账号：", 3))
    for label, n in rows:
        p.text(13, 32 + 4.5 * n, label, 8.5, ink=True)
    p.text(37, 32, inv.buyer.name, 9)
    p.text(37, 36.5, inv.buyer.tax_id, 9)
    p.vertical(126, 31, "密码区", 5)
    rng = random.Random(inv.number)
    for n, row in enumerate(_cipher(rng)):
        p.text(132, 32 + 4.5 * n, row, 9)
    _items(p, inv.items, 52, "货物或应税劳务、服务名称")
    _totals(p, inv, 92, 100.5)
    p.line(5, 95, 205, 95)
    p.line(5, 104, 205, 104)
    p.line(11, 104, 11, 122)
    p.line(115, 104, 115, 122)
    p.vertical(6.3, 108, "销售方", 5)
    for label, n in rows:
        p.text(13, 109 + 4 * n, label, 8.5, ink=True)
    p.text(37, 109, inv.seller.name, 9)
    p.text(37, 113, inv.seller.tax_id, 9)
    p.text(117, 113, "备注", 9, ink=True)
    p.text(126, 113, inv.remarks, 8)
    p.text(12, 130, "收款人：", 9, ink=True)
    p.text(62, 130, "复核：", 9, ink=True)
    p.text(105, 130, "开票人：", 9, ink=True)
    p.text(119, 130, inv.issuer, 9)
    p.text(160, 130, "销售方：（章）", 9, ink=True)


def invoice_pdf(inv: Invoice, *, qr: str | None = None) -> bytes:
    """One page, 210 × 140 mm, text layer in an embedded CJK font, QR image top left (`qr`
    replaces the payload, to make a page whose QR disagrees with its text)."""
    _font()
    buf = io.BytesIO()
    c = canvas.Canvas(
        buf, pagesize=(PAGE_W * mm, PAGE_H * mm), pageCompression=1, initialFontName=FONT
    )
    c.setTitle(f"发票 {inv.number}")
    c.setCreator("fapiao samples")
    c.setStrokeColorRGB(*INK)
    c.setLineWidth(0.6)
    page = _Page(c)
    (_digital if inv.kind.is_digital else _older)(page, inv, qr or qr_payload(inv))
    c.showPage()
    c.save()
    return buf.getvalue()
