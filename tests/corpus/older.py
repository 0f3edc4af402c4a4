"""The older 增值税电子发票 layout (215 × 139 mm), measured on real files with pypdfium2: the form
(frame, labels, 监制章, title) is drawn first, bottom labels before the header as the issuing
templates do; then the QR image; then the data layer in the cells, in the issuing software's
order (header values, 密码区, 机器编号, buyer, totals, seller, remarks, people, and the items last).
A long invoice prints "（详见销货清单）" and adds a 销货清单 page."""

from __future__ import annotations

import random

from reportlab.lib.units import mm

from fapiao.model import LineItem
from fapiao.money import to_words
from tests.corpus import printed as pr
from tests.corpus.content import Case, Row
from tests.corpus.draw import BROWN, FORM, MONO, SONG, Page, new_pdf, qr_png, seal_png, width

W, H = 215.0, 139.0
TOP, MID, ROW_BOTTOM, SUM_LINE, WORDS_LINE, BOTTOM = 29.7, 50.8, 88.6, 95.0, 103.2, 123.1
# (header, left, right, cell, alignment) per item-table kind; 金额 税率 税额 always last.
_TAIL = [
    ("金 额", 138.0, 169.3, "amount", "right"),
    ("税率", 169.3, 177.7, "tax_rate", "center"),
    ("税 额", 177.7, 209.0, "tax", "right"),
]
COLUMNS = {
    "general": [
        ("货物或应税劳务、服务名称", 8.0, 62.0, "name", "left"),
        ("规格型号", 62.0, 77.3, "spec", "left"),
        ("单位", 77.3, 89.5, "unit", "center"),
        ("数 量", 89.5, 112.8, "quantity", "right"),
        ("单 价", 112.8, 138.0, "unit_price", "right"),
        *_TAIL,
    ],
    "toll": [
        ("项目名称", 8.0, 50.0, "name", "left"),
        ("车牌号", 50.0, 72.0, "plate", "left"),
        ("类型", 72.0, 84.0, "type", "center"),
        ("通行日期起", 84.0, 111.0, "start", "center"),
        ("通行日期止", 111.0, 138.0, "end", "center"),
        *_TAIL,
    ],
}
NAME_SIZE = 9.0
LIST_MARK = "（详见销货清单）"


def _cell(row: Row, key: str) -> str:
    item = row.item
    if key == "amount":
        return pr.money(item.amount)
    if key == "tax_rate":
        return pr.rate_text(item.tax_rate)
    if key == "tax":
        return pr.tax_text(item)
    if key in row.cells:
        return row.cells[key]
    return "" if row.discount else str(getattr(item, key, ""))


def _title(case: Case) -> str:
    inv = case.invoice
    region = pr.REGION.get(inv.code[1:5], "")
    return f"{region}增值税电子{'专用' if inv.kind.is_special else '普通'}发票"


def _form(p: Page, case: Case, spaced: bool) -> None:
    gap = "　　　　" if spaced else " "
    ink = {"color": BROWN}
    p.text(21.6, 93.6, f"合{gap}计", FORM, 9, **ink)
    p.text(21.7, 100.3, "价税合计(大写)", FORM, 9, **ink)
    p.text(158.3, 100.3, "(小写)", FORM, 9, **ink)
    for n, ch in enumerate("销售方"):
        p.text(10.4, 109.3 + 5 * n, ch, FORM, 9, **ink)
    labels = (f"名{gap}称:", "纳税人识别号:", "地 址、电 话:", "开户行及账号:")
    for n, label in enumerate(labels):
        p.text(17.0, 106.9 + 5.0 * n, label, FORM, 9, **ink)
    for x, label in (
        (11.7, "收款人:"),
        (67.8, "复核:"),
        (110.9, "开票人:"),
        (153.9, "销售方:(章)"),
    ):
        p.text(x, 128.4, label, FORM, 9, **ink)
    p.text(124.0, 109.3, "备", FORM, 9, **ink)
    p.text(124.0, 119.9, "注", FORM, 9, **ink)
    for n, label in enumerate(("发票代码:", "发票号码:", "开票日期:", "校 验 码:")):
        p.text(153.4, 7.3 + 6.1 * n, label, FORM, 9, **ink)
    for x, ch in ((177.2, "年"), (184.5, "月"), (191.9, "日")):
        p.text(x, 19.5, ch, SONG, 9)
    for n, ch in enumerate("购买方"):
        p.text(10.2, 35.8 + 5.4 * n, ch, FORM, 9, **ink)
    for n, label in enumerate(labels):
        p.text(17.1, 33.3 + 5.3 * n, label, FORM, 9, **ink)
    for n, ch in enumerate("密码区"):
        p.text(124.1, 34.4 + 6.9 * n, ch, FORM, 9, **ink)
    for label, x0, x1, _, _ in COLUMNS.get(case.table, COLUMNS["general"]):
        p.text((x0 + x1) / 2, 54.8, label, FORM, 9, align="center", **ink)
    p.text(11.0, 25.7, "机器编号:", FORM, 9, **ink)
    p.oval_text(108.0, 18.4, 15.5, 10.5, "全国统一发票监制章", 7)
    region = pr.REGION.get(case.invoice.code[1:5], "国家")
    p.text(108.0, 19.6, "国家税务总局", FORM, 6.5, align="center", **ink)
    p.text(108.0, 25.4, f"{region}市税务局", FORM, 6.5, align="center", **ink)
    title = _title(case)
    p.text(106.6, 14.6, title, FORM, 20, align="center", **ink)
    mark = {"toll": "通行费", "petrol": "成品油"}.get(case.table)
    if mark:
        p.text(36.0, 10.0, mark, FORM, 12, **ink)
    _frame(p, case, width(title, FORM, 20))


def _frame(p: Page, case: Case, title_w: float) -> None:
    p.c.setStrokeColorRGB(*BROWN)
    p.rect(8.0, TOP, 209.0, BOTTOM)
    for y in (MID, SUM_LINE, WORDS_LINE):
        p.line(8.0, y, 209.0, y)
    for x in (15.0, 123.1, 128.1):
        p.line(x, TOP, x, MID)
    for x in (15.9, 122.6, 127.9):
        p.line(x, WORDS_LINE, x, BOTTOM)
    columns = COLUMNS.get(case.table, COLUMNS["general"])
    for _, x0, _, _, _ in columns[1:]:
        p.line(x0, MID, x0, SUM_LINE if x0 > columns[1][1] else WORDS_LINE)
    for y in (18.9, 19.8):
        p.line(106.6 - title_w / 2, y, 106.6 + title_w / 2, y)
    p.c.circle(64.5 * mm, (H - 98.9) * mm, 1.9 * mm)
    p.line(63.3, 97.7, 65.7, 100.1, 0.4)
    p.line(63.3, 100.1, 65.7, 97.7, 0.4)


def _party(p: Page, party, y: float, font: str, rng: random.Random) -> None:
    p.text(38.2, y, party.name, font, 9 if width(party.name, font, 9) < 84 else 7)
    p.text(38.5, y + 5.2, party.tax_id, MONO, 12)
    where = pr.address(rng)
    p.text(38.1, y + 10.4, where, font, 9 if width(where, font, 9) < 84 else 6)
    p.text(38.1, y + 16.0, pr.bank(rng), font, 7)


def _items(p: Page, case: Case, rows: list[Row], font: str) -> None:
    columns = COLUMNS.get(case.table, COLUMNS["general"])
    y = 59.6
    for row in rows:
        _, x0, x1, _, _ = columns[0]
        names = pr.wrap(row.item.name, x1 - x0 - 2.5, NAME_SIZE)
        p.text(x0 + 1.8, y, names[0], font, NAME_SIZE)
        for _, x0, x1, key, align in columns[1:]:
            x = {"left": x0 + 1.2, "center": (x0 + x1) / 2, "right": x1 - 0.8}[align]
            p.text(x, y, _cell(row, key), font, NAME_SIZE, align=align)
        for more in names[1:]:
            y += 3.6
            p.text(columns[0][1] + 1.8, y, more, font, NAME_SIZE)
        y += 4.2


def _data(p: Page, case: Case, font: str, rng: random.Random, rows: list[Row]) -> None:
    inv = case.invoice
    p.text(167.7, 7.0, inv.code, font, 9)
    p.text(167.7, 13.3, inv.number, font, 9)
    d = inv.issue_date
    p.text(168.6, 19.3, f"{d.year} {d.month:02d} {d.day:02d}", MONO, 9, words=1.9)
    check = " ".join(inv.check_code[i : i + 5] for i in range(0, 20, 5))
    p.text(167.7, 25.6, check + " ", font, 9)
    for n, line in enumerate(pr.cipher(rng)):
        p.text(134.8, 33.6 + 5.3 * n, line, MONO, 12)
    p.text(26.6, 25.2, case.machine, font, 9)
    _party(p, inv.buyer, 33.4, font, rng)
    p.text(168.3, 94.3, "¥" + pr.money(inv.amount), MONO, 11, align="right")
    p.text(207.7, 94.3, "¥" + pr.money(inv.tax), MONO, 11, align="right")
    p.text(67.1, 100.2, case.words or to_words(inv.total), font, 9)
    p.text(167.3, 100.0, "¥" + pr.money(inv.total), MONO, 11)
    _party(p, inv.seller, 106.9, font, rng)
    for n, line in enumerate(x for r in case.remarks for x in pr.wrap(r, 78, 8)):
        p.text(130.8, 106.3 + 3.6 * n, line, font, 8)
    p.text(122.4, 128.4, inv.issuer, font, 9)
    _items(p, case, rows, font)


def summary_row(case: Case) -> Row:
    """The one line an invoice with a 销货清单 prints."""
    inv = case.invoice
    rates = {i.tax_rate for i in inv.items}
    rate = rates.pop() if len(rates) == 1 else ""
    return Row(LineItem(LIST_MARK, inv.amount, rate, inv.tax))


def _list_page(p: Page, case: Case, font: str) -> None:
    """销售货物或者提供应税劳务、服务清单 (A4), as the issuing software prints it."""
    inv = case.invoice
    ink = {"color": BROWN}
    p.text(105.0, 20.0, "销售货物或者提供应税劳务、服务清单", FORM, 16, align="center", **ink)
    p.text(15.0, 32.0, "购买方名称:", FORM, 9, **ink)
    p.text(15.0, 38.0, "销售方名称:", FORM, 9, **ink)
    kind = "专用" if inv.kind.is_special else "普通"
    p.text(15.0, 44.0, f"所属增值税电子{kind}发票代码:", FORM, 9, **ink)
    p.text(95.0, 44.0, "号码:", FORM, 9, **ink)
    p.text(150.0, 44.0, "共 1 页 第 1 页", FORM, 9, **ink)
    heads = (("序号", 15), ("货物（劳务）名称", 40), ("规格型号", 80), ("单位", 98))
    heads += (("数量", 109), ("单价", 128), ("金额", 150), ("税率", 168), ("税额", 185))
    for label, x in heads:
        p.text(x, 52.0, label, FORM, 9, **ink)
    p.text(45.0, 32.0, inv.buyer.name, font, 9)
    p.text(45.0, 38.0, inv.seller.name, font, 9)
    p.text(68.0, 44.0, inv.code, font, 9)
    p.text(105.0, 44.0, inv.number, font, 9)
    y = 58.0
    for n, row in enumerate(case.rows):
        item = row.item
        p.text(17.0, y, str(n + 1), font, 8)
        p.text(98.0, y, _cell(row, "unit"), font, 7, hscale=_fit(_cell(row, "unit"), font, 7, 10))
        spec = _cell(row, "spec")
        p.text(80.0, y, spec, font, 6.5, hscale=_fit(spec, font, 6.5, 17))
        p.text(117.0, y, _cell(row, "quantity"), font, 7, align="right")
        p.text(143.0, y, _cell(row, "unit_price"), font, 6.5, align="right")
        p.text(162.0, y, pr.money(item.amount), font, 8, align="right")
        p.text(170.0, y, pr.rate_text(item.tax_rate), font, 8)
        p.text(196.0, y, pr.tax_text(item), font, 8, align="right")
        for line in pr.wrap(item.name, 52, 7):
            p.text(25.0, y, line, font, 7)
            y += 3.4
        y += 2.6
    p.text(15.0, y, "小计", FORM, 9, **ink)
    p.text(15.0, y + 6, "总计", FORM, 9, **ink)
    p.text(15.0, y + 12, "备注", FORM, 9, **ink)
    p.text(120.0, y + 30, "销售方（章）", FORM, 9, **ink)
    p.text(150.0, y + 30, "填开日期:", FORM, 9, **ink)
    for dy in (0, 6):
        p.text(162, y + dy, "¥" + pr.money(inv.amount), font, 8, align="right")
        p.text(196, y + dy, "¥" + pr.money(inv.tax), font, 8, align="right")
    p.text(166.0, y + 30, f"{inv.issue_date:%Y年%m月%d日}", font, 9)


def _fit(s: str, font: str, size: float, room: float) -> float:
    """The horizontal scale (%) that keeps `s` within `room` mm: the issuing software squeezes a
    long 规格型号 into its cell rather than letting it run into the next one."""
    wide = width(s, font, size)
    return 100.0 if wide <= room else 100.0 * room / wide


def older_pdf(
    case: Case, payload: str, rng: random.Random, *, first_page_only: bool = False
) -> bytes:
    inv = case.invoice
    buf, c = new_pdf(W, H, f"{_title(case)} {inv.code} {inv.number}")
    p = Page(c, H)
    font = rng.choice([SONG, SONG, "ZenHeiSharp"])
    _form(p, case, spaced=rng.random() < 0.5)
    p.image(14.1, 3.2, 17.7, 17.7, qr_png(payload))
    p.image(169.5, 106.9, 37.4, 27.9, seal_png(inv.seller.name, inv.seller.tax_id))
    rows = [summary_row(case)] if case.listed else case.rows
    _data(p, case, font, rng, rows)
    c.showPage()
    if case.listed and not first_page_only:
        c.setPageSize((210 * mm, 297 * mm))
        _list_page(Page(c, 297.0), case, font)
        c.showPage()
    c.save()
    return buf.getvalue()
