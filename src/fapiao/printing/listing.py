"""A list of invoices as a printout: a table (number, date, kind, direction, parties, amounts,
status and the states the capabilities keep beside it: 勾选, 入账, 报销, 红冲) with the header on every
page, and totals at the end — by direction, with 作废 (void) invoices counted apart and left out of
the sums."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import LongTable, SimpleDocTemplate, Spacer, TableStyle

from fapiao.ledger import listing_states
from fapiao.money import MoneyError, parse_yuan
from fapiao.printing.common import (
    DIRECTIONS,
    INK,
    RULE,
    SHORT_KINDS,
    STATUSES,
    font,
    footer,
    label,
    para,
    printed_at,
    style,
)
from fapiao.vocabulary import amount as shown_amount
from fapiao.vocabulary import fen

MAX_ROWS = 20_000
HEAD = [
    "序号",
    "发票号码",
    "开票日期",
    "票种",
    "方向",
    "销售方",
    "购买方",
    "金额",
    "税额",
    "价税合计",
    "状态",
]
WIDTHS = [10, 38, 18, 15, 10, 44, 44, 22, 20, 24, 26]


def _fen(text: object) -> int:
    try:
        return parse_yuan(str(text or "0"))
    except (MoneyError, TypeError, ValueError):
        return 0


class Totals:
    """Counts and sums by direction; void invoices only counted."""

    def __init__(self) -> None:
        self.by: dict[str, list[int]] = {}
        self.void = 0

    def add(self, row: dict[str, Any]) -> None:
        if row.get("status") == "void":
            self.void += 1
            return
        acc = self.by.setdefault(row.get("direction", ""), [0, 0, 0, 0])
        acc[0] += 1
        acc[1] += _fen(row.get("amount", ""))
        acc[2] += _fen(row.get("tax", ""))
        acc[3] += _fen(row.get("total", ""))

    def lines(self) -> list[tuple[str, list[int]]]:
        out = [(f"{label(DIRECTIONS, d)}小计", v) for d, v in sorted(self.by.items())]
        all_ = [sum(v[i] for v in self.by.values()) for i in range(4)]
        return [*out, ("合计（不含作废）", all_)]


def _status(row: dict[str, Any]) -> str:
    """The 状态 cell: the invoice's status, then each state it is in ('已勾选 2024-11'), as the
    rows carry them (a listing asked with `include`)."""
    words = [label(STATUSES, row.get("status"))]
    for state in listing_states.states():
        if state.name in row:
            words.append(listing_states.brief(state, row[state.name]))
    return " · ".join(w for w in words if w)


def list_pdf(
    rows: Iterable[dict[str, Any]],
    *,
    title: str = "发票清单",
    subtitle: str = "",
    printed: str | None = None,
    max_rows: int = MAX_ROWS,
    attestation: str = "",
) -> tuple[bytes, int, bool]:
    """(PDF, rows printed, whether the list was cut at `max_rows`)."""
    buf = io.BytesIO()
    page = SimpleDocTemplate(
        buf,
        initialFontName=font(),  # no base-14 font is referenced, only the embedded one
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=title,
        author="fapiao",
    )
    cell, num = style("cell", 7.5), style("num", 7.5, alignment=2)
    head = style("head", 8, textColor=INK)
    table: list[list[Any]] = [[para(h, head) for h in HEAD]]
    totals, count, cut = Totals(), 0, False
    for row in rows:
        if count >= max_rows:
            cut = True
            break
        count += 1
        totals.add(row)
        number = f"{row['code']}-{row['number']}" if row.get("code") else row.get("number", "")
        table.append(
            [
                str(count),
                para(number, cell),
                row.get("issue_date", ""),
                label(SHORT_KINDS, row.get("kind")),
                label(DIRECTIONS, row.get("direction")),
                para((row.get("seller") or {}).get("name", ""), cell),
                para((row.get("buyer") or {}).get("name", ""), cell),
                para(shown_amount(row.get("amount", "")), num),
                para(shown_amount(row.get("tax", "")), num),
                para(shown_amount(row.get("total", "")), num),
                para(_status(row), cell),
            ]
        )
    first_total = len(table)
    for name, (n, amount, tax, total) in totals.lines():
        table.append(
            [
                "",
                para(f"{name}：{n} 张", head),
                "",
                "",
                "",
                "",
                "",
                para(fen(amount), num),
                para(fen(tax), num),
                para(fen(total), num),
                "",
            ]
        )
    if totals.void:
        table.append(["", para(f"作废：{totals.void} 张（不计入合计）", cell), *[""] * 9])
    grid = LongTable(table, colWidths=[w * mm for w in WIDTHS], repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), style("cell", 7.5).fontName, 7.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, RULE),
                ("LINEABOVE", (0, first_total), (-1, first_total), 0.8, RULE),
                (
                    "ROWBACKGROUNDS",
                    (0, 1),
                    (-1, first_total - 1),
                    [colors.white, colors.HexColor("#f6f1ec")],
                ),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *[("SPAN", (1, r), (6, r)) for r in range(first_total, len(table))],
            ]
        )
    )
    story: list[Any] = [para(title, style("title", 15, textColor=INK))]
    info = f"{subtitle + ' · ' if subtitle else ''}共 {count} 张 · 打印于 {printed or printed_at()}"
    if cut:
        info += (
            f" · 仅列出前 {max_rows} 张，请缩小筛选范围 / first {max_rows} only: narrow the filter"
        )
    story += [para(info, style("info", 8.5, textColor=colors.grey)), Spacer(1, 3 * mm), grid]
    if attestation:  # the newest signed checkpoint: what this printout can be checked against
        story += [Spacer(1, 3 * mm), para(attestation, style("attest", 7.5, textColor=colors.grey))]
    stamp = "台账发票清单 / invoice list from the ledger"
    page.build(story, onFirstPage=footer(stamp), onLaterPages=footer(stamp))
    return buf.getvalue(), count, cut
