"""The 数电票 layout (电子发票（增值税专用发票/普通发票）, 铁路电子客票 …): fields from positioned text.

What makes the layout: a 20-digit 发票号码 and no 发票代码 or 密码区; the buyer (购买方信息) on the left
and the seller (销售方信息) on the right, side by side, each with 名称 and 统一社会信用代码/纳税人识别号;
the item table (`digital_items`); 合计 with `¥`; 价税合计（大写）…（小写）; 备注 to the left of a box of
free text; 开票人. A scan whose header was not read (the QR covers it) is still this layout when
the 统一社会信用代码 label or the side-by-side party blocks are there.

Text running down the margin (下载次数：1) is left out. A helper module of the parse package (no
`sniff`/`parse`).
"""

from __future__ import annotations

import re

from fapiao.model import Party
from fapiao.parse import digital_items, digital_tickets
from fapiao.parse.layout import Box, Fields, Page
from fapiao.parse.ofd_fields import words_in

_NUMBER = re.compile(r"\d{20}")
_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}-\d{2}-\d{2}")
_NAME_LABEL = re.compile(r"名称|^.{0,2}称[:：]")
_NEXT_LABEL = re.compile(r"\s{3,}|销\s*售?\s*方?\s*名\s*称|名\s*称[:：]")
# 统一社会信用代码/纳税人识别号, also with its end lost by OCR (…纳税人识别)
_ID_LABEL = re.compile(r"统一社会信用代码|/?纳税人识别号?|[:：]")
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")


def extract(boxes: list[Box]) -> Fields | None:
    """The page's fields, or None when the page is not this layout."""
    page = Page([b for b in boxes if not _margin(b)])
    if not _is_digital(page):
        return None
    f = Fields(digital=True)
    f.title = title(page)
    f.number, sure = number(page)
    if sure < 1:
        f.confidence["number"] = sure
    f.date = date(page)
    if digital_tickets.is_ticket(f.title):
        return digital_tickets.extract(page, f)
    f.buyer, f.seller = parties(page)
    f.items, end, spans = digital_items.read_items(page)
    totals = digital_items.totals_line(page, 0 if end is None else end)
    if totals is not None:
        f.amount, f.tax = digital_items.totals(totals, spans)
        digital_items.discount_signs(f.items, f.amount)
    f.total, f.words = _grand_total(page)
    f.remarks = _remarks(page)
    f.issuer = _labelled_value(page, "开票人")
    return f


def _margin(box: Box) -> bool:
    """Text set down the page edge (下载次数：1): a run much taller than wide."""
    return len(box.key) >= 3 and box.h > 2.5 * (box.x1 - box.x0)


def _is_digital(page: Page) -> bool:
    keys = "".join(b.key for b in page.order)
    if "发票代码" in keys or "密码区" in keys or "机器编号" in keys:
        return False
    for box in page.labelled("发票号码"):
        if len("".join(ch for ch in following(page, box, "发票号码") if ch.isdigit())) == 20:
            return True
    if "电子发票" in keys and ("统一社会信用代码" in keys or "购买方信息" in keys):
        return True
    return "统一社会信用代码/纳税人识别号" in keys


def following(page: Page, box: Box, label: str, *, limit: float = float("inf")) -> str:
    """The text after `label` in its own box and in the run of boxes that follows it."""
    at = box.text.find(label[-1])
    rest = box.text[at + 1 :] if at >= 0 else box.text
    return (rest + "".join(b.text for b in run(page, box, limit))).lstrip(":： \t").strip()


def run(page: Page, box: Box, limit: float = float("inf")) -> list[Box]:
    """The boxes right of `box` on its line that follow each other closely (a value a producer
    set glyph by glyph), ending before `limit`."""
    out: list[Box] = []
    end = box.x1
    for b in page.right_of(box):
        if b is box or b.x0 < end - 0.3 * page.h:
            continue
        if b.x0 - end > 2.5 * page.h or b.x1 > limit + page.h:
            break
        out.append(b)
        end = b.x1
    return out


def title(page: Page) -> str:
    """The title without spaces (some producers space it out: 电 子 发 票 （ 普 通 发 票 ）), up
    to the end of its first line (a seal's text may share its run)."""
    for box in page.order:
        if "发票" in box.key and "号码" not in box.key and "日期" not in box.key:
            return "".join(box.text.splitlines()[0].split())
    return ""


def number(page: Page) -> tuple[str | None, float]:
    """发票号码 and how sure: 20 digits after the label; fewer (OCR dropped one) are kept for the
    reviewer to see, with a low confidence."""
    short = None
    for box in page.labelled("发票号码"):
        digits = "".join(ch for ch in following(page, box, "发票号码") if ch.isdigit())
        if len(digits) >= 20:
            return digits[:20], 1.0
        short = short or (digits if len(digits) >= 8 else None)
    found = next((m.group(0) for b in page.order if (m := _NUMBER.search(b.key))), None)
    if found:
        return found, 1.0
    return short, 0.3


def date(page: Page) -> str | None:
    for label in ("开票日期", "填开日期"):
        for box in page.labelled(label):
            m = _DATE.search(following(page, box, label))
            if m:
                return m.group(0)
    found = next((m.group(0) for b in page.order if (m := _DATE.search(b.text))), None)
    return found


def _divider(page: Page, labels: list[Box]) -> float:
    """Where the seller's half of the party band begins."""
    if len(labels) >= 2:
        left, right = sorted(labels[:2], key=lambda b: b.x0)
        if abs(left.cy - right.cy) < 2 * page.h and right.x0 > left.x1:
            return right.x0 - page.h
    for box in page.order:
        if box.key.startswith("销") and len(box.key) <= 6:
            return box.x0 - page.h
    xs = [b.x0 for b in page.boxes] + [b.x1 for b in page.boxes]
    return (min(xs) + max(xs)) / 2 if xs else 0.0


def parties(page: Page) -> tuple[Party, Party]:
    """(buyer, seller): the 名称 and ID on the left half are the buyer's, on the right the seller's."""
    labels = [b for b in page.order if _NAME_LABEL.search(b.key) and "项目" not in b.key][:4]
    divider = _divider(page, labels)
    names = {"buyer": "", "seller": ""}
    for box in labels:
        side = "buyer" if box.cx < divider else "seller"
        if names[side]:
            continue
        names[side] = _name_value(page, box, divider if side == "buyer" else float("inf"))
    ids = {"buyer": "", "seller": ""}
    for box in page.labelled("纳税人识别号") or page.labelled("统一社会信用代码"):
        side = "buyer" if box.cx < divider else "seller"
        if not ids[side]:
            ids[side] = _tax_id(page, box, divider if side == "buyer" else float("inf"))
    return Party(names["buyer"], ids["buyer"]), Party(names["seller"], ids["seller"])


def _name_value(page: Page, box: Box, limit: float) -> str:
    at = box.text.find("称")
    rest = box.text[at + 1 :].lstrip(":： \t") if at >= 0 else ""
    if rest:
        # a run that went on into the seller's half: cut at its label
        return _NEXT_LABEL.split(rest)[0].strip()
    value = "".join(b.text for b in run(page, box, limit)).strip()
    return "" if "纳税人" in value or "名称" in value else value


def _tax_id(page: Page, box: Box, limit: float) -> str:
    labels = list(_ID_LABEL.finditer(box.key))
    rest = _clean(box.key[labels[-1].end() :] if labels else "")
    following_id = _clean("".join(b.key for b in run(page, box, limit)))
    for candidate in (rest, following_id, rest + following_id):
        if _TAX_ID.fullmatch(candidate):
            return candidate
    return ""


def _clean(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isascii() and ch.isalnum())


def _grand_total(page: Page) -> tuple[str | None, str | None]:
    """价税合计: (小写) and (大写)."""
    total = words = None
    for box in page.labelled("小写"):
        text = "".join(
            [box.key.partition("小写")[2]] + [b.key for b in page.right_of(box, gap=20)[:3]]
        )
        m = digital_items.MONEY.search(text.replace("¥", "").replace(")", ""))
        if m:
            total = m.group(0)
            break
    for box in page.labelled("大写"):
        pieces = [box.key.partition("大写")[2].lstrip(")")]
        pieces += [b.key for b in page.right_of(box) if "小写" not in b.key and "¥" not in b.key]
        words = words_in("".join(pieces).split("(小写")[0]) or None
        break
    return total, words


def _remarks(page: Page) -> str:
    """The free text right of the 备注 label, between the 价税合计 line and 开票人."""
    marks = page.labelled("备", start=True)
    if not marks:
        return ""
    mark = marks[0]
    if mark.key.startswith("备注") and len(mark.key) > 3:
        return mark.text[mark.text.find("注") + 1 :].lstrip(":： ").strip()
    top = max((b.y1 for b in page.labelled("大写")), default=mark.y0 - 2 * page.h)
    bottom = min((b.y0 for b in page.labelled("开票人")), default=float("inf"))
    parts = [
        b.text
        for line in page.lines
        for b in line
        if b.y0 >= top - 0.2 * page.h
        and b.y1 <= bottom + 0.2 * page.h
        and b.x0 > mark.x1
        and b.key not in ("备", "注", "备注")
    ]
    return "".join(parts).strip()


def _labelled_value(page: Page, label: str) -> str:
    for box in page.labelled(label):
        value = following(page, box, label)
        return "" if "销售方" in value or value.endswith((":", "：")) else value
    return ""
