"""Valid 税率: 13, 9, 6, 5, 3, 1, 0 %, 1.5 % (个人出租住房), 免税, 不征税, 差额征税.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(items=(line(100000, "0.015", 1500),)), Ctx))  # 个人出租住房
[]
>>> found(check(sample(items=(line(100000, "0.17", 17000),)), Ctx))  # abolished in 2018
['tax_rate_invalid items[1].tax_rate']
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import RATE_MARKERS, Invoice

VALID_RATES = (
    frozenset({"0.13", "0.09", "0.06", "0.05", "0.03", "0.015", "0.01", "0"}) | RATE_MARKERS
)


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    for index, item in enumerate(inv.items, start=1):
        if item.tax_rate not in VALID_RATES:
            yield finding(
                "tax_rate_invalid", f"items[{index}].tax_rate", line=index, value=item.tax_rate
            )
