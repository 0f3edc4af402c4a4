"""合计金额 + 合计税额 = 价税合计, to the fen."""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice
from fapiao.money import format_fen


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    if inv.amount + inv.tax != inv.total:
        yield finding(
            "sum_mismatch",
            "total",
            amount=format_fen(inv.amount),
            tax=format_fen(inv.tax),
            total=format_fen(inv.total),
        )
