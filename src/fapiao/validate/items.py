"""Line items add up to the invoice's 合计金额 and 合计税额, to the fen (discount lines are negative).

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(), Ctx)) == found(check(sample(items=()), Ctx)) == []  # no lines: no sum
True
>>> found(check(sample(items=(line(90000, "0.06", 5400),)), Ctx))
['items_mismatch amount', 'items_mismatch tax']
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice
from fapiao.money import format_fen


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    if not inv.items:
        return
    lines_amount = sum(item.amount for item in inv.items)
    lines_tax = sum(item.tax for item in inv.items)
    for field, what, what_en, lines, header in (
        ("amount", "金额", "amounts", lines_amount, inv.amount),
        ("tax", "税额", "taxes", lines_tax, inv.tax),
    ):
        if lines != header:
            yield finding(
                "items_mismatch",
                field,
                what=what,
                what_en=what_en,
                lines=format_fen(lines),
                header=format_fen(header),
            )
