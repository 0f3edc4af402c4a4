"""The item table of an older invoice: columns from the header's labels, rows from the amounts.

Every kind of table has its own header (goods: 名称 规格型号 单位 数量 单价 金额 税率 税额; 通行费:
项目名称 车牌号 类型 通行日期起 通行日期止 金额 税率 税额; 货物运输, 不动产经营租赁, 建筑服务 …):
each header label opens a column at its left edge. A number is printed flush right in its cell,
so it belongs to the last column that opens before its right edge; text is printed from the left,
so it belongs to the last column that opens before its start. A line with an amount opens an item;
a line without one continues the item above it (an item name wrapped over several lines). Discount
lines are items of their own (negative, right after the line they discount).
A helper module of the parse package (no `sniff`/`parse`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from fapiao.parse.layout import Box
from fapiao.parse.older_geometry import is_money, is_number, lines, money_text, same_row

# Header label -> column, most specific first ("税额" before "金额" would not matter, "名称" last).
_COLUMNS = (
    ("tax_rate", ("税率", "征收率")),
    ("tax", ("税额",)),
    ("amount", ("金额",)),
    ("unit_price", ("单价",)),
    ("quantity", ("数量",)),
    ("unit", ("单位",)),
    ("spec", ("规格", "型号", "车牌号", "车种车号")),
    ("name", ("名称", "项目")),
    ("index", ("序号",)),  # a 销货清单's line numbers
)
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_MARKERS = ("免税", "不征税", "***", "*")
_ROW_WORDS = ("免税", "不征税", "***", "*")


@dataclass(slots=True)
class Table:
    """The header's columns (name -> left edge), in order, and the header's row."""

    columns: list[tuple[str, float]]
    header: Box
    labels: frozenset[int] = frozenset()  # ids of the header row's boxes

    @property
    def keys(self) -> set[str]:
        return {key for key, _ in self.columns}

    def column(self, box: Box, h: float) -> str:
        numeric = is_number(box.key) or bool(_RATE.search(box.key)) or box.key in _ROW_WORDS
        # a right-aligned number may end a little past the next header's start (a narrow 税率 cell)
        anchor = max(box.cx, box.x1 - 1.0 * h) if numeric else box.x0 + 1.0 * h
        at = 0
        for n, (_key, left) in enumerate(self.columns):
            if left <= anchor:
                at = n
        if self.columns[at][0] == "index" and not numeric and at + 1 < len(self.columns):
            # a list's name is printed from the cell's left, under a short label centered over
            # it: it may start left of the label, in the line numbers' column, never its own
            at += 1
        return self.columns[at][0]


def header(boxes: list[Box], h: float, below: float, above: float) -> Table | None:
    """The table header: the row of the 金额 label between the buyer block and the 合计 row."""
    anchors = [
        b
        for b in boxes
        if "金额" in b.key and len(b.key) <= 12 and "合计" not in b.key and below < b.cy < above
    ]
    if not anchors:
        return None
    anchor = min(anchors, key=lambda b: b.cy)
    labels = [b for b in boxes if same_row(b, anchor, h, slack=0.5) and not is_number(b.key)]
    row = sorted((part for b in labels for part in _split(b)), key=lambda b: b.x0)
    columns: list[tuple[str, float]] = []
    taken: set[str] = set()
    for n, box in enumerate(row):
        key = _classify(box.key, taken) or f"other{n}"
        taken.add(key)
        columns.append((key, box.x0 - 0.5 * h))
    if "name" not in taken and columns and columns[0][0].startswith("other"):
        columns[0] = ("name", columns[0][1])  # an unlabelled first column holds the names
        taken.add("name")
    if "amount" not in taken:
        return None
    return Table(columns, anchor, frozenset(id(b) for b in labels))


# Whole header labels, to cut a box OCR read across several of them.
_LABELS = (
    "货物或应税劳务、服务名称",
    "项目名称",
    "规格型号",
    "车牌号",
    "类型",
    "通行日期起",
    "通行日期止",
    "单位",
    "数量",
    "单价",
    "金额",
    "税率/征收率",
    "税率",
    "征收率",
    "税额",
)


def _split(box: Box) -> list[Box]:
    """A header box OCR read across several labels (`单价金额`), cut where each label starts."""
    found: list[tuple[int, int]] = []
    key = box.key.replace("／", "/")
    for label in sorted(_LABELS, key=len, reverse=True):
        at = key.find(label)
        if at >= 0 and all(at + len(label) <= a or at >= b for a, b in found):
            found.append((at, at + len(label)))
    if len(found) < 2:
        return [box]
    starts = sorted(a for a, _ in found)
    # where each character of the key sits in the printed text, spaces included
    text = box.text.replace("：", ":").replace("（", "(").replace("）", ")").replace("／", "/")
    place = [n for n, ch in enumerate(text) if not ch.isspace()] + [len(text)]
    step = (box.x1 - box.x0) / max(len(text), 1)
    cuts = [0, *starts[1:], len(box.key)]
    return [
        Box(box.key[a:b], box.x0 + place[a] * step, box.y0, box.x0 + place[b] * step, box.y1)
        for a, b in pairwise(cuts)
    ]


def _classify(key: str, taken: set[str]) -> str:
    for name, labels in _COLUMNS:
        if name not in taken and any(label in key for label in labels):
            return name
    return ""


def rows(
    boxes: list[Box],
    table: Table,
    h: float,
    bottom: float,
    scores: list[dict[str, float]] | None = None,
) -> list[dict[str, str]]:
    """The items between the header and `bottom` (the 合计 row); `scores` gets each item's
    lowest OCR score by column."""
    scores = [] if scores is None else scores
    body = [
        b
        for b in boxes
        if table.header.y0 < b.cy < bottom
        and id(b) not in table.labels  # a data row printed high may reach the header's row
        and b.h < 2.5 * h  # not the vertical print of the margins (印制 line, 第二联 …)
    ]
    items: list[dict[str, str]] = []
    pending: dict[str, list[str]] = {}
    for line in lines(body, h):
        cells: dict[str, list[str]] = {}
        low: dict[str, float] = {}
        for box in line:
            key = table.column(box, h)
            cells.setdefault(key, []).append(box.text)
            low[key] = min(low.get(key, 1.0), box.score)
        amount = "".join(cells.get("amount", []))
        if amount and is_money("".join(amount.split())):
            row = {key: "".join(parts).strip() for key, parts in cells.items()}
            for key, parts in pending.items():
                row[key] = "".join(parts) + row.get(key, "")
            pending = {}
            items.append(_clean(row))
            scores.append(low)
        elif items:
            for key in ("name", "spec", "unit"):
                if key in cells:
                    items[-1][key] = _wrap(items[-1].get(key, ""), "".join(cells[key]).strip())
                    scores[-1][key] = min(scores[-1].get(key, 1.0), low[key])
        else:
            for key in ("name", "spec", "unit"):
                if key in cells:
                    pending.setdefault(key, []).extend(cells[key])
    if "tax" not in table.keys and "tax_rate" not in table.keys:
        for row in items:  # a non-VAT invoice (通行费 通用发票): no tax is separated
            row["tax_rate"] = "不征税"
            row["tax"] = "0.00"
    return items


def _wrap(head: str, tail: str) -> str:
    """A cell's text continued on the next line. A lone `l` that starts a line is read by OCR as
    `1`: after a letter and before a Chinese character it is the `l` of a unit (`50m|l腋下`)."""
    if head[-1:].isascii() and head[-1:].isalpha() and re.match(r"^1[^\x00-\x7f]", tail):
        tail = "l" + tail[1:]
    return head + tail


def _clean(row: dict[str, str]) -> dict[str, str]:
    for key in ("amount", "tax"):
        if key in row:
            raw = "".join(row[key].split())
            row[key] = raw if raw in _MARKERS else money_text(raw) or raw
    if "tax_rate" in row:
        row["tax_rate"] = rate_text(row["tax_rate"])
    for key in ("quantity", "unit_price"):  # as printed, with all their decimals
        if key in row:
            row[key] = "".join(row[key].split()).lstrip("¥￥")
    return row


def rate_text(text: str) -> str:
    """`13%`, OCR's `13%6`, `免税`, `不征税`, `***` -> the rate as printed, without the noise."""
    raw = "".join(text.split())
    for marker in _MARKERS:
        if raw == marker or (marker != "*" and marker in raw and not _RATE.search(raw)):
            return marker
    found = _RATE.search(raw)
    return found.group(1) + "%" if found else raw


def totals(
    boxes: list[Box], table: Table | None, label: Box, h: float, conf: dict[str, float]
) -> tuple[str, str]:
    """合计金额 and 合计税额 on the 合计 row, each under its column ('' when not printed); their
    OCR scores go into `conf`."""
    found = sorted(
        (
            b
            for b in boxes
            if b is not label
            and same_row(b, label, h, slack=1.0)
            and b.x0 > label.x1
            and (is_money(b.key) or b.key in _MARKERS)
        ),
        key=lambda b: b.x0,
    )
    amount = tax = ""
    for box in found:
        value = box.key if box.key in _MARKERS else money_text(box.key)
        key = table.column(box, h) if table else ("amount" if not amount else "tax")
        if key == "amount" and not amount:
            amount, conf["amount"] = value, box.score
        elif key == "tax":
            tax, conf["tax"] = value, box.score
    return amount, tax
