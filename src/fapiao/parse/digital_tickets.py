"""数电 tickets: 电子发票（铁路电子客票） and 电子发票（航空运输电子客票行程单）.

They print no item table. A railway ticket prints its fare (票价, tax included) and the buyer
(购买方名称, 统一社会信用代码); the 9 % VAT inside the fare is separated as the platform does,
tax = fare − round(fare / 1.09), so both come with a lower confidence. An air itinerary prints
票价, 燃油附加费 (both tax included), 增值税税率, 增值税税额, 民航发展基金, 其他税费 and 合计, each value to
the right of its label or under it; 民航发展基金 and 其他税费 are not subject to VAT and become
`不征税` lines. The seller of an itinerary is its 填开单位. A helper module of the parse package (no
`sniff`/`parse`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from fapiao.model import Party
from fapiao.money import MoneyError, format_fen, parse_yuan
from fapiao.parse.digital_items import MONEY
from fapiao.parse.layout import Box, Fields, Page

RAIL = "铁路电子客票"
AIR = "航空运输电子客票行程单"
DERIVED = 0.7  # confidence of values computed rather than printed


def is_ticket(title: str) -> bool:
    key = "".join(title.split())
    return RAIL in key or AIR in key or ("航空" in key and "行程单" in key)


def extract(page: Page, f: Fields) -> Fields:
    """Fill `f` (title, number and date already read) from a ticket page."""
    f.buyer = Party(_text_after(page, "购买方名称"), _id(page))
    if RAIL in "".join(f.title.split()):
        _rail(page, f)
    else:
        _air(page, f)
    return f


def _text_after(page: Page, label: str) -> str:
    for box in page.labelled(label):
        rest = box.text[box.text.find(label[-1]) + 1 :].lstrip(":： ")
        for stop in ("统一社会信用代码", "纳税人识别号"):
            rest = rest.split(stop)[0]
        if rest.strip():
            return rest.strip()
        nxt = page.right_of(box, gap=12)
        if nxt and "代码" not in nxt[0].key and "识别号" not in nxt[0].key:
            return nxt[0].text.strip()
    return ""


def _id(page: Page) -> str:
    for label in ("纳税人识别号", "统一社会信用代码"):
        for box in page.labelled(label):
            rest = box.key[box.key.find(label) + len(label) :]
            nxt = page.right_of(box, gap=8)
            for text in (rest, nxt[0].key if nxt else ""):
                value = "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())
                if 15 <= len(value) <= 20:
                    return value
    return ""


def _money_near(page: Page, label: str) -> str | None:
    """The amount after `label` in its box, to its right, or in the column under it."""
    for box in page.labelled(label):
        candidates = [box.key[box.key.find(label) + len(label) :]]
        # the value, or a currency (CNY) and then the value, or both in the column under it
        candidates += ["".join(b.key for b in page.right_of(box, gap=12)[:2])]
        candidates += [b.key for b in _below(page, box)]
        for text in candidates:
            m = MONEY.search(text.replace("¥", "").replace("CNY", "").replace("YQ", ""))
            if m and "." in m.group(0):
                return m.group(0)
    return None


def _below(page: Page, box: Box) -> list[Box]:
    n = page.line_of[id(box)]
    for line in page.lines[n + 1 : n + 3]:
        under = [b for b in line if b.x0 < box.x1 + page.h and b.x1 > box.x0 - page.h]
        if under:
            return under
    return []


def _fen(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return parse_yuan(text)
    except MoneyError:
        return None


def _rail(page: Page, f: Fields) -> None:
    fare = _money_near(page, "票价")
    if fare is None:
        fare = next(
            (m.group(0) for b in page.order if "¥" in b.key and (m := MONEY.search(b.key[1:]))),
            None,
        )
    total = _fen(fare)
    if total is None:
        return
    amount = int((Decimal(total) / Decimal("1.09")).quantize(Decimal(1), ROUND_HALF_UP))
    f.total = format_fen(total)
    f.amount, f.tax = format_fen(amount), format_fen(total - amount)
    f.items = [
        {
            "name": "*运输服务*铁路旅客运输服务",
            "amount": f.amount,
            "tax_rate": "9%",
            "tax": f.tax,
        }
    ]
    for path in ("amount", "tax", "items[1].amount", "items[1].tax", "items[1].name"):
        f.confidence[path] = DERIVED


def _air(page: Page, f: Fields) -> None:
    seller = _text_after(page, "填开单位")
    f.seller = Party(seller.split("填开")[0].strip(), "")
    fares = [_fen(_money_near(page, label)) for label in ("票价", "燃油附加费")]
    tax = _fen(_money_near(page, "增值税税额"))
    fund = _fen(_money_near(page, "民航发展基金")) or 0
    other = _fen(_money_near(page, "其他税费")) or 0
    total = _fen(_money_near(page, "合计"))
    taxable = sum(v for v in fares if v is not None)
    if total is None and taxable:
        total = taxable + fund + other
    if total is None:
        return
    f.total = format_fen(total)
    if tax is None:
        return
    f.tax = format_fen(tax)
    f.amount = format_fen(total - tax)
    f.items = [
        {
            "name": "*运输服务*航空旅客运输服务",
            "amount": format_fen(taxable - tax),
            "tax_rate": "9%",
            "tax": f.tax,
        }
    ]
    for name, value in (("*运输服务*民航发展基金", fund), ("*运输服务*其他税费", other)):
        if value:
            f.items.append(
                {"name": name, "amount": format_fen(value), "tax_rate": "不征税", "tax": "0"}
            )
    for n in range(1, len(f.items) + 1):
        f.confidence[f"items[{n}].name"] = DERIVED
