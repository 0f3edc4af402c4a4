"""开票日期: not in the future (Asia/Shanghai) and not before VAT invoices existed (1994).

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> import datetime as dt
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(issue_date=dt.date(2024, 12, 2)), Ctx))  # the day after Ctx.today
['date_invalid issue_date']
>>> found(check(sample(issue_date=dt.date(1993, 12, 31)), Ctx))
['date_invalid issue_date']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from fapiao.findings import Finding, finding
from fapiao.model import Invoice

EARLIEST = dt.date(1994, 1, 1)


class _Ctx:
    today: dt.date


def check(inv: Invoice, ctx: _Ctx) -> Iterator[Finding]:
    day = inv.issue_date
    if day > ctx.today:
        yield finding(
            "date_invalid",
            "issue_date",
            detail=f"{day.isoformat()} 晚于今天 {ctx.today.isoformat()}",
            detail_en=f"{day.isoformat()} is after today {ctx.today.isoformat()}",
        )
    elif day < EARLIEST:
        yield finding(
            "date_invalid",
            "issue_date",
            detail=f"{day.isoformat()} 早于 1994 年",
            detail_en=f"{day.isoformat()} is before 1994",
        )
