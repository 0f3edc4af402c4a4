"""The 数电 layout (210 × 140 mm), measured on real files with pypdfium2: buyer and seller side by
side, the 20-digit number, an items table without column lines, 特定业务 rows (出行人, 运输工具,
不动产, 建筑服务) under the items, and items that run over more pages (totals on the last one).

The form is drawn first; the data blocks follow in an order that is not the visual one."""

from __future__ import annotations

import random

from reportlab.lib.units import mm

from fapiao.money import to_words
from tests.corpus import printed as pr
from tests.corpus.content import Case, Row
from tests.corpus.draw import (
    BROWN,
    FORM,
    MONO,
    SHARP,
    SONG,
    Page,
    new_pdf,
    qr_png,
    stamp_png,
    width,
)

W, H = 210.0, 140.0
LEFT, RIGHT, TOP, MID, SUM_LINE, WORDS_LINE, BOTTOM = (
    4.45,
    205.55,
    29.95,
    51.95,
    96.05,
    103.95,
    123.95,
)
ITEMS_TOP, ITEMS_BOTTOM, PITCH = 59.8, 90.5, 4.3
_TAIL = [
    ("金 额", 130.0, 153.0, "amount", "right"),
    ("税率/征收率", 153.0, 172.0, "tax_rate", "right"),
    ("税 额", 172.0, 205.4, "tax", "right"),
]
_GENERAL = [
    ("项目名称", LEFT, 40.0, "name", "left"),
    ("规格型号", 40.0, 62.0, "spec", "left"),
    ("单 位", 62.0, 81.0, "unit", "center"),
    ("数 量", 81.0, 103.0, "quantity", "right"),
    ("单 价", 103.0, 128.0, "unit_price", "right"),
    *_TAIL,
]
COLUMNS = {
    "general": _GENERAL,
    "passenger": [
        ("项目名称", LEFT, 60.0, "name", "left"),
        ("单\u00a0\u00a0价", 60.0, 92.0, "unit_price", "right"),
        ("数\u00a0\u00a0量", 92.0, 112.0, "quantity", "right"),
        *_TAIL,
    ],
    "toll": [
        ("项目名称", LEFT, 40.0, "name", "left"),
        ("车牌号", 40.0, 62.0, "plate", "left"),
        ("类型", 62.0, 74.0, "type", "center"),
        ("通行日期起", 74.0, 98.0, "start", "center"),
        ("通行日期止", 98.0, 122.0, "end", "center"),
        *_TAIL,
    ],
    "lease": [
        ("项目名称", LEFT, 36.0, "name", "left"),
        ("产权证书/不动产权证号", 36.0, 86.0, "cert", "left"),
        ("面积单位", 86.0, 100.0, "unit", "center"),
        ("数 量", 100.0, 112.0, "quantity", "right"),
        ("单 价", 112.0, 130.0, "unit_price", "right"),
        *_TAIL,
    ],
    "vehicle": [
        ("项目名称", LEFT, 30.0, "name", "left"),
        ("车辆识别代号/车架号码", 30.0, 72.0, "vin", "left"),
        ("车辆类型", 72.0, 84.0, "type", "center"),
        ("厂牌型号", 84.0, 122.0, "model", "left"),
        ("数量", 122.0, 130.0, "quantity", "right"),
        *_TAIL,
    ],
}
EXTRA = {
    "passenger": [
        ("出行人", "who"),
        ("出行日期", "date"),
        ("出发地", "from"),
        ("到达地", "to"),
        ("等级", "class"),
        ("交通工具类型", "vehicle"),
    ],
    "freight": [
        ("运输工具种类", "vehicle"),
        ("运输工具牌号", "plate"),
        ("起运地", "from"),
        ("到达地", "to"),
        ("运输货物名称", "goods"),
    ],
    "lease": [("不动产地址", "address"), ("租赁期起止", "period")],
    "construction": [("建筑服务发生地", "place"), ("建筑项目名称", "project")],
}
PROVINCE = {"11": "北京市", "12": "天津市", "31": "上海市", "32": "江苏省", "33": "浙江省"}
PROVINCE |= {"44": "广东省", "51": "四川省"}
MARK = {
    "passenger": "旅客运输服务",
    "petrol": "成品油",
    "toll": "通行费",
    "freight": "货物运输服务",
}
MARK |= {"lease": "不动产经营租赁服务", "construction": "建筑服务", "vehicle": "机动车"}


def _columns(case: Case) -> list:
    return COLUMNS.get(case.table, _GENERAL)


def _cell(row: Row, key: str) -> str:
    item = row.item
    if key == "amount":
        return pr.money(item.amount)
    if key == "tax_rate":
        return pr.rate_text(item.tax_rate)
    if key == "tax":
        return pr.tax_text(item)
    return row.cells.get(key) or ("" if row.discount else str(getattr(item, key, "")))


def _form(p: Page, case: Case, page_no: int, pages: int) -> None:
    ink = {"color": BROWN}
    title = "电子发票（增值税专用发票）" if case.invoice.kind.is_special else "电子发票（普通发票）"
    if case.invoice.number.endswith(("3", "7")):  # some files print 子 as the radical ⼦ (U+2F26)
        title = title.replace("子", "\u2f26")
    p.text(101.3, 14.4, title, FORM, 20, align="center", **ink)
    p.text(154.7, 14.0, "发票号码：", FORM, 9, **ink)
    p.text(154.6, 20.0, "开票日期：", FORM, 9, **ink)
    for x0, who in ((6.0, "购买方信息"), (106.4, "销售方信息")):
        for n, ch in enumerate(who):
            p.text(x0, 35.5 + 3.5 * n, ch, FORM, 9, **ink)
        p.text(x0 + 5.4, 36.4, "名称：", FORM, 9, **ink)
        label = "统一社会信用代码/纳税人识别号："
        p.text(x0 + 5.6, 47.1, label, FORM, 9, hscale=89, **ink)
    for label, x0, x1, _, _ in _columns(case):
        p.text((x0 + x1) / 2, 55.9, label, FORM, 9, align="center", **ink)
    if case.table in EXTRA:
        y = ITEMS_BOTTOM - 4.3 * (len(case.extra) + 1)
        for n, (label, _) in enumerate(EXTRA[case.table]):
            p.text(_extra_x(case, n), y, label, FORM, 9, **ink)
    p.text(20.6, 94.8, "合 计", FORM, 9, **ink)
    p.text(16.7, 101.1, "价税合计（大写）", FORM, 9, **ink)
    p.text(142.6, 101.1, "（小写）", FORM, 9, **ink)
    p.text(6.0, 111.8, "备", FORM, 9, **ink)
    p.text(6.0, 117.7, "注", FORM, 9, **ink)
    p.text(19.7, 132.4, "开票人：", FORM, 9, **ink)
    if case.table in MARK:
        p.text(30.0, 12.0, MARK[case.table], FORM, 9, **ink)
    if pages > 1:
        p.text(178.0, 137.0, f"共{pages}页 第{page_no}页", FORM, 8, **ink)
    c = p.c
    c.setStrokeColorRGB(*BROWN)
    p.rect(LEFT, TOP, RIGHT, BOTTOM)
    for y in (MID, SUM_LINE, WORDS_LINE):
        p.line(LEFT, y, RIGHT, y)
    for x in (10.55, 105.05, 111.05):
        p.line(x, TOP, x, MID)
    p.line(56.45, SUM_LINE, 56.45, WORDS_LINE)
    p.line(10.55, WORDS_LINE, 10.55, BOTTOM)
    for y in (17.95, 18.95):
        p.line(65.2, y, 138.7, y)
    c.circle(60.0 * mm, (H - 100.0) * mm, 2.0 * mm)


def _extra_x(case: Case, n: int) -> float:
    return LEFT + 2 + n * (RIGHT - LEFT - 4) / len(EXTRA[case.table])


def _header(p: Page, case: Case, font: str) -> None:
    inv = case.invoice
    p.text(170.1, 13.9, inv.number, font, 9)
    p.text(170.1, 19.9, f"{inv.issue_date:%Y年%m月%d日}", font, 9)


def _parties(p: Page, case: Case, font: str) -> None:
    for x0, party in ((20.2, case.invoice.buyer), (120.1, case.invoice.seller)):
        p.text(x0, 36.5, party.name, font, 9 if len(party.name) < 20 else 7.5)
        p.text(x0 + 34.3, 47.2, party.tax_id, MONO, 12 if len(party.tax_id) <= 18 else 10)


def _totals(p: Page, case: Case, font: str, rng: random.Random) -> None:
    inv = case.invoice
    split = rng.random() < 0.5  # "¥" as its own text object, as some issuing software writes it
    for x, fen in ((152.7, inv.amount), (205.1, inv.tax)):
        if split:
            value = pr.money(fen)
            p.text(x, 94.6, value, font, 9, align="right")
            p.text(x - width(value, font, 9) - 0.3, 94.6, "¥", MONO, 11, align="right")
        else:
            p.text(x, 94.6, "¥" + pr.money(fen), MONO, 9, align="right")
    p.text(63.1, 101.1, to_words(inv.total), font, 9)
    p.text(155.2, 100.9, "¥" + pr.money(inv.total), MONO, 11)


def _remarks(p: Page, case: Case, font: str) -> None:
    lines = [line for r in case.remarks for line in pr.wrap(r, 190, 9)]
    for n, line in enumerate(lines[:5]):
        p.text(11.6, 107.3 + 3.2 * n, line, font, 9)
    p.text(32.1, 132.4, case.invoice.issuer, font, 9)


def _lines(case: Case, row: Row) -> list[str]:
    _, x0, x1, _, _ = _columns(case)[0]
    return pr.wrap(row.item.name, x1 - x0 - 1.0, 9)


def pages_of(case: Case) -> list[list[Row]]:
    """The rows on each page: as many as fit above the 特定业务 rows and the 合计 row."""
    bottom = ITEMS_BOTTOM - (4.3 * (len(case.extra) + 1) + 1 if case.table in EXTRA else 0)
    pages: list[list[Row]] = [[]]
    y = ITEMS_TOP
    for row in case.rows:
        need = PITCH * len(_lines(case, row))
        if pages[-1] and y + need > bottom:
            pages.append([])
            y = ITEMS_TOP
        pages[-1].append(row)
        y += need
    return pages


def _items(p: Page, case: Case, rows: list[Row], font: str) -> None:
    y = ITEMS_TOP
    columns = _columns(case)
    for row in rows:
        names = _lines(case, row)
        p.text(columns[0][1] + 0.2, y, names[0], font, 9)
        for _, x0, x1, key, align in columns[1:]:
            x = {"left": x0 + 1.0, "center": (x0 + x1) / 2, "right": x1 - 0.4}[align]
            value = _cell(row, key)
            small = key in ("unit_price", "model", "cert") and width(value, font, 9) > x1 - x0 - 2
            p.text(x, y, value, font, 7 if small else 9, align=align)
        for more in names[1:]:
            y += PITCH
            p.text(columns[0][1] + 0.2, y, more, font, 9)
        y += PITCH


def _extra(p: Page, case: Case, font: str) -> None:
    y = ITEMS_BOTTOM - 4.3 * len(case.extra)
    for n, row in enumerate(case.extra):
        for m, (_, key) in enumerate(EXTRA[case.table]):
            p.text(_extra_x(case, m), y + 4.3 * n, row.get(key, ""), font, 8)


def digital_pdf(
    case: Case, payload: str, rng: random.Random, *, first_page_only: bool = False
) -> bytes:
    inv = case.invoice
    buf, c = new_pdf(W, H, f"电子发票 {inv.number}")
    font = rng.choice([SHARP, SHARP, SONG])
    pages = pages_of(case)
    if first_page_only:
        pages = pages[:1]
    province = "国家税务总局" + PROVINCE.get(inv.number[2:4], "江苏省") + "税务局"
    stamp = stamp_png("全国统一发票监制", province, "", (190, 60, 40))
    zoom = 2.8346 if rng.random() < 0.3 else 1.0  # converted from OFD: text in mm units, scaled
    for n, rows in enumerate(pages, start=1):
        p = Page(c, H, zoom)
        _form(p, case, n, len(pages))
        p.image(6.5, 6.0, 20.0, 20.0, qr_png(payload))
        p.image(90.0, 8.0, 30.0, 20.0, stamp)
        blocks: list[tuple] = [
            (_header, p, case, font),
            (_parties, p, case, font),
            (_items, p, case, rows, font),
        ]
        if n == len(pages):
            blocks += [(_totals, p, case, font, rng), (_remarks, p, case, font)]
            if case.table in EXTRA:
                blocks.append((_extra, p, case, font))
        rng.shuffle(blocks)  # the data layer's order is not the visual order
        for draw, *args in blocks:
            draw(*args)
        c.showPage()
    c.save()
    return buf.getvalue()
