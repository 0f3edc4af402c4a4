"""价税合计（大写） matches 价税合计 by value (圆 or 元, any negative prefix).

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(total_words="壹仟零陆拾圆整"), Ctx))
[]
>>> found(check(sample(total_words="壹仟零陆拾元整"), Ctx))  # 元 or 圆
[]
>>> found(check(sample(total_words="壹仟零陆拾壹圆整"), Ctx))
['uppercase_mismatch total_words']
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice
from fapiao.money import MoneyError, format_fen, from_words


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    if not inv.total_words:
        return
    try:
        value = from_words(inv.total_words)
    except MoneyError:
        value = None
    if value != inv.total:
        yield finding(
            "uppercase_mismatch", "total_words", words=inv.total_words, total=format_fen(inv.total)
        )
