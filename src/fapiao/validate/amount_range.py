"""Money a ledger can keep: every amount (金额, 税额, 价税合计, and each line's) within ±10^15 fen
(10 万亿元). No invoice comes near it; beyond it the ledger's 64-bit columns, and the sums that
reports and statistics take over many invoices, would overflow, so such an input is rejected with a
finding instead of failing the batch it came in.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(amount=10**15 + 1, total=10**15 + 6001), Ctx))
['amount_out_of_range amount', 'amount_out_of_range total']
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice

MAX_FEN = 10**15


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    values = [("amount", inv.amount), ("tax", inv.tax), ("total", inv.total)]
    for n, item in enumerate(inv.items, start=1):
        values += [(f"items[{n}].amount", item.amount), (f"items[{n}].tax", item.tax)]
    for field, fen in values:
        if abs(fen) > MAX_FEN:
            text = str(fen)
            yield finding(
                "amount_out_of_range",
                field,
                value=text if len(text) <= 24 else f"{text[:12]}…（{len(text)} 位 digits）",
            )
