"""价税合计（大写） matches 价税合计 by value (圆 or 元, any negative prefix)."""

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
