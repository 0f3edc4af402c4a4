"""红字发票: negative amounts, and it names the blue invoice it reverses.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> from fapiao.model import Identity, Status
>>> found(check(sample(), Ctx))  # a blue invoice: nothing to check
[]
>>> blue = Identity("", "24332000000012345670")
>>> found(check(sample(status=Status.RED, original=blue, amount=-100000, tax=-6000, total=-106000), Ctx))
[]
>>> found(check(sample(status=Status.RED), Ctx))
['red_without_original original', 'red_not_negative total']
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Status
from fapiao.money import format_fen


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    if inv.status is not Status.RED:
        return
    if inv.original is None or not inv.original.number:
        yield finding("red_without_original", "original")
    for field, value in (("total", inv.total), ("amount", inv.amount)):
        if value >= 0:
            yield finding("red_not_negative", field, value=format_fen(value))
            break
