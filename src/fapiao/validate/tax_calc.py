"""Line 税额 ≈ 金额 × 税率.

Tolerance: 6 fen (0.06 元) per line. That is the per-line 税额误差 the VAT invoicing systems accept:
tax is often computed from a tax-inclusive price and quantity with many decimals, then rounded, so
the printed tax may differ from round(amount × rate) by a few fen. Anything beyond 0.06 is not rounding.
免税 and 不征税 lines must carry zero tax; 差额征税 is computed on a deduction we do not see, so it is
not checked here.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(items=(line(100000, "0.06", 6006),)), Ctx))  # within 0.06 元
[]
>>> found(check(sample(items=(line(100000, "0.06", 6007),)), Ctx))
['tax_calc_mismatch items[1].tax']
>>> found(check(sample(items=(line(100000, "exempt", 700),)), Ctx))  # 免税 carries no tax
['tax_calc_mismatch items[1].tax']
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache

from fapiao.findings import Finding, finding
from fapiao.model import RATE_EXEMPT, RATE_MARGIN, RATE_NONTAXABLE, Invoice
from fapiao.money import format_fen
from fapiao.validate.tax_rate import VALID_RATES

TOLERANCE_FEN = 6


def expected_tax(amount_fen: int, rate: str) -> int:
    """round(amount × rate), halves away from zero; exact for any amount (a Decimal product of
    more digits than the context's precision cannot be quantized)."""
    num, den = _ratio(rate)
    product = amount_fen * num  # the product is product / den: integers only, still exact
    whole = (2 * abs(product) + den) // (2 * den)  # floor(|product| / den + 1/2)
    return whole if product >= 0 else -whole


@lru_cache(maxsize=64)
def _ratio(rate: str) -> tuple[int, int]:
    value = Fraction(rate)
    return value.numerator, value.denominator


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    for index, item in enumerate(inv.items, start=1):
        if item.tax_rate == RATE_MARGIN or item.tax_rate not in VALID_RATES:
            continue
        if item.tax_rate in (RATE_EXEMPT, RATE_NONTAXABLE):
            expected = 0
        else:
            expected = expected_tax(item.amount, item.tax_rate)
        if abs(item.tax - expected) > TOLERANCE_FEN:
            yield finding(
                "tax_calc_mismatch",
                f"items[{index}].tax",
                line=index,
                tax=format_fen(item.tax),
                expected=format_fen(expected),
                tolerance=format_fen(TOLERANCE_FEN),
            )
