"""The invoice every rule's examples start from: each rule module's docstring varies it to show a
passing and a failing case, so the examples are the rule's specification and a test runs them
(tests/test_validate_doctests.py). Not a rule: it defines no `check`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from fapiao.findings import Finding
from fapiao.model import Invoice, Kind, LineItem, Party

SELLER = Party(name="杭州恒达华信物流有限公司", tax_id="91330106962172321C")
BUYER = Party(name="上海润泽恒达咨询有限公司", tax_id="91310115777631709K")
TODAY = dt.date(2024, 12, 1)


class Ctx:
    """The checking date of the examples (a rule's `ctx`)."""

    today = TODAY


def sample(**changes: Any) -> Invoice:
    """A valid 数电票 (专票): 1,000.00 of consulting at 6 %, 1,060.00 in all, of 2024-11-05;
    `changes` replace fields.

    >>> sample().total, sample(total=1).total
    (106000, 1)
    """
    inv = Invoice(
        kind=Kind.DIGITAL_SPECIAL,
        number="24332000000012345678",
        issue_date=dt.date(2024, 11, 5),
        seller=SELLER,
        buyer=BUYER,
        amount=100000,
        tax=6000,
        total=106000,
        items=(LineItem(name="*现代服务*咨询服务", amount=100000, tax_rate="0.06", tax=6000),),
    )
    return replace(inv, **changes)


def line(amount: int, tax_rate: str, tax: int) -> LineItem:
    """A line item of the given money (fen)."""
    return LineItem(name="*现代服务*咨询服务", amount=amount, tax_rate=tax_rate, tax=tax)


def found(findings: Iterable[Finding]) -> list[str]:
    """Each finding as `code field`, the way the examples show them."""
    return [f"{f.code} {f.field}".strip() for f in findings]
