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

from fapiao import vocabulary
from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Kind


def _digits(text: str, *sizes: int) -> bool:
    return text.isascii() and text.isdigit() and len(text) in sizes


def _invalid(field: str, kind: Kind, value: str) -> Finding:
    """The message names the kind in words (增值税专用发票), as `finding` names the field."""
    kind_zh = vocabulary.zh(vocabulary.KINDS, kind.value)
    return finding("number_invalid", field, kind=kind.value, kind_zh=kind_zh, value=value)


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    kind = inv.kind
    if kind.is_digital:
        if not _digits(inv.number, 20):
            yield _invalid("number", kind, inv.number)
        if inv.code:
            yield _invalid("code", kind, inv.code)
    elif kind is Kind.OTHER:
        if not inv.number:
            yield _invalid("number", kind, inv.number)
    else:
        code_sizes = (10, 12) if kind.is_paper else (12,)
        if not _digits(inv.code, *code_sizes):
            yield _invalid("code", kind, inv.code)
        if not _digits(inv.number, 8):
            yield _invalid("number", kind, inv.number)
    if inv.check_code and not _digits(inv.check_code, 20):
        yield _invalid("check_code", kind, inv.check_code)
