"""发票号码 / 发票代码 / 校验码 format per kind.

数电票: 20-digit number, no code. Older electronic invoices: 12-digit code + 8-digit number.
Paper VAT invoices: 10- or 12-digit code + 8-digit number. 校验码, when present, is 20 digits.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> from fapiao.model import Kind
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(number="2433200000001234567"), Ctx))  # 19 digits
['number_invalid number']
>>> older = sample(kind=Kind.VAT_ELECTRONIC_NORMAL, code="033002100611", number="12345678")
>>> found(check(older, Ctx)), found(check(sample(kind=older.kind, number="12345678"), Ctx))
([], ['number_invalid code'])
"""

from __future__ import annotations

from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Kind


def _digits(text: str, *sizes: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) in sizes


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    kind = inv.kind
    if kind.is_digital:
        if not _digits(inv.number, 20):
            yield finding("number_invalid", "number", kind=kind.value, value=inv.number)
        if inv.code:
            yield finding("number_invalid", "code", kind=kind.value, value=inv.code)
    elif kind is Kind.OTHER:
        if not inv.number:
            yield finding("number_invalid", "number", kind=kind.value, value=inv.number)
    else:
        code_sizes = (10, 12) if kind.is_paper else (12,)
        if not _digits(inv.code, *code_sizes):
            yield finding("number_invalid", "code", kind=kind.value, value=inv.code)
        if not _digits(inv.number, 8):
            yield finding("number_invalid", "number", kind=kind.value, value=inv.number)
    if inv.check_code and not _digits(inv.check_code, 20):
        yield finding("number_invalid", "check_code", kind=kind.value, value=inv.check_code)
