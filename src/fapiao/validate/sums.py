"""合计金额 + 合计税额 = 价税合计, to the fen.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(), Ctx))
[]
>>> [f.message for f in check(sample(total=106001), Ctx)]
['金额 1000.00 + 税额 60.00 ≠ 价税合计 1060.01']
"""

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
