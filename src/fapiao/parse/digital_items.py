"""The item table of a 数电票 page: columns from the header's labels, rows between the header and
the 合计 line.

Every header label is a column, known or not (通行费 prints 车牌号/类型/通行日期起止, 不动产经营租赁
产权证书/不动产权证号 and 面积单位, 货物运输 起运地/到达地 …), so that a value is never pulled into the
wrong known column just because that column is the nearest known one. A line without an amount
continues the item above (an item name or 规格型号 wrapped over several lines); a discount line is its
own row, negative, right after the line it discounts. A helper module of the parse package (no
`sniff`/`parse`).
"""

from __future__ import annotations

import re

from fapiao.money import MoneyError, parse_yuan
from fapiao.parse.layout import Box, Page

MONEY = re.compile(r"-?\d[\d,]*(?:\.\d{1,2})?")
_HEADERS = (
    ("name", ("项目名称", "货物或应税劳务", "名称")),
    ("spec", ("规格型号", "规格")),
    ("unit", ("单位",)),
    ("quantity", ("数量",)),
    ("unit_price", ("单价",)),
    ("amount", ("金额",)),
    ("tax_rate", ("税率", "征收率")),
    ("tax", ("税额",)),
)
# the lines that end the item table: the totals, or the table of a special business (旅客运输,
# 货物运输, 建筑服务, 不动产经营租赁) that some issuers print between the items and 合计
_END = (
    "价税合计",
    "合计",
    "备注",
    "出行人",
    "运输工具",
    "起运地",
    "建筑服务发生地",
    "不动产地址",
    "租赁期",
    "跨地",
)


def column_key(key: str) -> str | None:
    if key.startswith(("合计", "价税")):
        return None
    for name, labels in _HEADERS:
        if any(label in key for label in labels):
            return name
    return None


def header_line(page: Page) -> int | None:
    """The index of the table's header line: 金额 and 税额 (or 税率) on one line, no 合计."""
    for n, line in enumerate(page.lines):
        keys = "".join(b.key for b in line)
        if "金额" in keys and ("税额" in keys or "税率" in keys) and "合计" not in keys:
            return n
    return None


def columns(line: list[Box], h: float) -> list[tuple[str, float, float]]:
    """(column, x0, x1) of each header label, left to right; a label split into pieces by OCR
    (数 | 量) is joined again, and labels we do not know become columns of their own."""
    cells: list[list[Box]] = []
    for box in sorted(line, key=lambda b: b.x0):
        if cells:
            prev = cells[-1]
            joined = "".join(b.key for b in prev) + box.key
            alone = column_key("".join(b.key for b in prev)) or column_key(box.key)
            if box.x0 - prev[-1].x1 < 1.5 * h and column_key(joined) and not alone:
                prev.append(box)
                continue
        cells.append([box])
    out = []
    for cell in cells:
        key = "".join(b.key for b in cell)
        out.append((column_key(key) or f"other:{key}", cell[0].x0, cell[-1].x1))
    return out


def _spans(cols: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """Each column's share of the width: up to halfway to its neighbours' labels."""
    spans = []
    for n, (key, x0, x1) in enumerate(cols):
        left = (cols[n - 1][2] + x0) / 2 if n else float("-inf")
        right = (x1 + cols[n + 1][1]) / 2 if n + 1 < len(cols) else float("inf")
        spans.append((key, left, right))
    return spans


def _column_of(box: Box, spans: list[tuple[str, float, float]]) -> str:
    def overlap(span: tuple[str, float, float]) -> float:
        return min(box.x1, span[2]) - max(box.x0, span[1])

    return max(spans, key=overlap)[0]


def is_end(line: list[Box]) -> bool:
    """The 合计 line (its label possibly half lost by OCR: 合 | 计), or whatever follows the table."""
    for box in line:
        if "¥" in box.key or box.key in ("合", "计", "合计", "小计"):
            return True
        if box.key.startswith(_END):
            return True
    return False


def totals_line(page: Page, start: int) -> list[Box] | None:
    """The 合计 line at or after `start`: its label (possibly half lost), or amounts with ¥ that
    are not 价税合计."""
    for line in page.lines[start:]:
        keys = [b.key for b in line]
        if any("价税" in k or "小写" in k for k in keys):
            continue
        if any(k.rstrip(":") in ("合", "计") or k.startswith("合计") for k in keys):
            return line
        if any(k.startswith("¥") and MONEY.search(k) for k in keys):
            return line
    return None


def read_items(page: Page) -> tuple[list[dict[str, str]], int | None, list]:
    """The rows of the item table, the index of the line that ends it, and the column spans."""
    head = header_line(page)
    if head is None:
        return [], None, []
    spans = _spans(columns(page.lines[head], page.h))
    if not any(key == "amount" for key, _, _ in spans):
        return [], None, []
    rows: list[dict[str, str]] = []
    pending: list[dict[str, str]] = []  # text lines waiting for the values of their row
    end = None
    for n in range(head + 1, len(page.lines)):
        line = page.lines[n]
        if is_end(line):
            end = n
            break
        cells: dict[str, list[Box]] = {}
        for box in line:
            cells.setdefault(_column_of(box, spans), []).append(box)
        row = {
            key: _join(boxes, page.h)
            for key, boxes in cells.items()
            if not key.startswith("other:")
        }
        if "tax_rate" in row:
            row["tax_rate"] = row["tax_rate"].replace("％", "%").replace(" ", "")
        amount = row.get("amount", "").replace(" ", "")
        if amount and MONEY.fullmatch(amount.replace("¥", "")):
            _place(rows, pending, row)
            pending = []
        elif row and not amount:
            # a name beginning (*分类*) above its values, when a row's values sit in its middle
            if pending or row.get("name", "").startswith("*"):
                pending.append(row)
            elif rows:
                _extend(rows[-1], row)
    if pending and rows:
        for part in pending:
            _extend(rows[-1], part)
    for row in rows:
        _sign(row)
    return rows, end, spans


def _extend(row: dict[str, str], more: dict[str, str]) -> None:
    for key in ("name", "spec", "unit"):
        if more.get(key):
            row[key] = row.get(key, "") + more[key]


def _place(rows: list[dict[str, str]], pending: list[dict[str, str]], row: dict[str, str]) -> None:
    """A row with values, and the text lines read before it: its own beginning when its name is
    not a beginning itself, else the end of the row above (a name wrapped under its values)."""
    if pending and not row.get("name", "").startswith("*"):
        head: dict[str, str] = {}
        for part in [*pending, row]:
            _extend(head, part)
        row.update({k: v for k, v in head.items() if v})
    elif pending and rows:
        for part in pending:
            _extend(rows[-1], part)
    rows.append(row)


def _join(boxes: list[Box], h: float) -> str:
    """A cell's text: its boxes by visual line (a name wrapped within one table row), then left to
    right; boxes of one line may sit a little higher or lower than each other."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b.y0):
        if lines and box.y0 - lines[-1][0].y0 < 0.5 * h:
            lines[-1].append(box)
        else:
            lines.append([box])
    return "".join(b.text for line in lines for b in sorted(line, key=lambda b: b.x0)).strip()


def _sign(row: dict[str, str]) -> None:
    """A discount line is negative in both amount and tax: a minus sign that OCR lost on one of
    them is put back from the other."""
    amount = row.get("amount", "").replace(" ", "")
    tax = row.get("tax", "").replace(" ", "")
    if not MONEY.fullmatch(amount) or not MONEY.fullmatch(tax) or not tax.strip("-0.,"):
        return
    if tax.startswith("-") and not amount.startswith("-"):
        row["amount"] = "-" + amount
    elif amount.startswith("-") and not tax.startswith("-"):
        row["tax"] = "-" + tax


_TOKEN = re.compile(r"-?\d[\d,]*\.\d{1,2}|\*\*\*")


def totals(line: list[Box], spans: list) -> tuple[str | None, str | None]:
    """合计金额 and 合计税额 from the 合计 line (either may be `***`): each value by its column, or
    in reading order when OCR ran the label and both values into one box."""
    found: dict[str, str] = {}
    loose: list[str] = []
    for box in line:
        value = box.key.replace("¥", "").lstrip(":")
        if spans and (MONEY.fullmatch(value) or value == "***"):
            key = _column_of(box, spans)
            if key in ("amount", "tax") and key not in found:
                found[key] = value
        else:
            loose += _TOKEN.findall(value)
    for key in ("amount", "tax"):
        if key not in found and loose:
            found[key] = loose.pop(0)
    return found.get("amount"), found.get("tax")


def _fen(text: str | None) -> int | None:
    raw = (text or "").replace(" ", "")
    if not MONEY.fullmatch(raw):
        return None
    try:
        return parse_yuan(raw)
    except MoneyError:
        return None


def discount_signs(rows: list[dict[str, str]], amount: str | None) -> None:
    """Discount lines whose minus signs OCR lost on both amount and tax: a line named like the
    line above it is made negative when that, and only that, makes the lines add up to 合计."""
    total = _fen((amount or "").replace("¥", ""))
    values = [v for row in rows if (v := _fen(row.get("amount"))) is not None]
    if total is None or len(values) != len(rows) or sum(values) == total:
        return
    for n in range(1, len(rows)):
        row, value = rows[n], values[n]
        if value <= 0 or row.get("name") != rows[n - 1].get("name"):
            continue
        if sum(values) - 2 * value == total:
            for key in ("amount", "tax"):
                if row.get(key) and MONEY.fullmatch(row[key].replace(" ", "")):
                    row[key] = "-" + row[key].strip()
            return
