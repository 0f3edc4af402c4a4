"""Refusing a platform list that cannot be right, before anything changes.

Reconciling against the wrong file is worse than not reconciling: every invoice of the ledger looks
missing at the platform, hundreds of actions and incidents open, and real findings close as
"vanished". So export files are checked first, and a refusal means no run is recorded, no action
opened or closed and no incident opened:

- not an export at all (no invoice rows could be read);
- an export of another taxpayer: a platform export is one taxpayer's, so every row names that
  taxpayer as seller or buyer; rows that share no taxpayer, or share one that is not the tenant,
  are not the tenant's export;
- an export with no row inside the run's period while it has rows elsewhere (last year's file).

An export whose rows do not reach the edges of the period is *not* refused: a platform that lost a
whole month is exactly what reconciling must find, and the rows alone cannot tell that apart from a
shorter query. It gets a warning naming the months its rows cover.

A list that passes may still close many actions at once; `closing` counts how many open actions a
result would close, so the web can ask before it does (`run(..., ask_over_half=True)`).

The checks run column-wise over the list's Arrow table (`export_table.EXPORT_SCHEMA`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, select

from fapiao.findings import Finding, Severity, finding
from fapiao.reconcile.engine import Result
from fapiao.reconcile.schema import reconcile_actions as act
from fapiao.reconcile.sources import Scope


def refusal(rows: pa.Table, problems: list[Finding], scope: Scope, label: str) -> Finding | None:
    """The reason not to reconcile against these export rows, or None."""
    if rows.num_rows == 0:
        first = problems[0] if problems else None
        detail, detail_en = (
            (first.message, first.message_en) if first else ("没有发票行", "no invoice rows")
        )
        return finding(
            "export_unusable", "authority", source=label, detail=detail, detail_en=detail_en
        )
    shared = _shared(rows)
    if scope.tax_id not in shared:
        owner = "、".join(sorted(shared)) or "多个纳税人 / several taxpayers"
        return finding(
            "export_other_taxpayer", "authority", source=label, owner=owner, tenant=scope.tax_id
        )
    if (
        scope.date_from
        and scope.date_to
        and not _inside(rows, scope.date_from, scope.date_to).num_rows
    ):
        return finding(
            "export_period_mismatch",
            "authority",
            source=label,
            period=scope.period,
            covered=_months(rows),
        )
    return None


def _shared(rows: pa.Table) -> set[str]:
    """The taxpayers every row names as seller or buyer: only the first row's can be."""
    seller, buyer = rows["seller_tax_id"], rows["buyer_tax_id"]
    candidates = {seller[0].as_py(), buyer[0].as_py()} - {""}
    return {
        c for c in candidates if pc.all(pc.or_(pc.equal(seller, c), pc.equal(buyer, c))).as_py()
    }


def _inside(rows: pa.Table, lo: dt.date, hi: dt.date) -> pa.Table:
    day = rows["issue_date"]
    return rows.filter(pc.and_(pc.greater_equal(day, lo), pc.less_equal(day, hi)))


def coverage_warning(rows: pa.Table, scope: Scope, label: str) -> Finding | None:
    """A warning when the rows do not reach the first or the last month of the period."""
    if not (rows.num_rows and scope.date_from and scope.date_to):
        return None
    inside = _inside(rows, scope.date_from, scope.date_to)
    if not inside.num_rows:
        return None
    span = pc.min_max(inside["issue_date"])
    first, last = span["min"].as_py(), span["max"].as_py()
    starts = (first.year, first.month) == (scope.date_from.year, scope.date_from.month)
    ends = (last.year, last.month) == (scope.date_to.year, scope.date_to.month)
    if starts and ends:
        return None
    return finding(
        "export_period_partial",
        "authority",
        Severity.WARNING,
        source=label,
        period=scope.period,
        covered=_months(rows),
    )


def _months(rows: pa.Table) -> str:
    span = pc.min_max(rows["issue_date"])
    return f"{span['min'].as_py():%Y-%m}–{span['max'].as_py():%Y-%m}"


@dataclass(slots=True)
class Closing:
    """How many of the tenant's open actions a result would close (as vanished), of how many."""

    closing: int
    open: int

    @property
    def over_half(self) -> bool:
        return self.closing * 2 > self.open


class NeedsConfirmation(Exception):
    """The result would close more than half the open actions: nothing was recorded; run again
    confirmed to apply it."""

    def __init__(self, closing: Closing) -> None:
        super().__init__(f"would close {closing.closing} of {closing.open} open actions")
        self.closing = closing

    def __reduce__(self) -> tuple[object, ...]:  # crosses the web job's process boundary
        return (NeedsConfirmation, (self.closing,))


def closing(engine: Engine, result: Result) -> Closing:
    """What `remedies.record_run` would close among the actions still `open` (nobody has acted on
    them): those dated in the scope whose finding this result no longer has."""
    scope = result.scope
    found = {(e.category, e.key) for e in result.all_entries()}
    with engine.connect() as conn:
        rows = conn.execute(
            select(act.c.category, act.c.identity_key, act.c.issue_date).where(
                act.c.tenant_id == scope.tenant_id, act.c.state == "open"
            )
        ).all()
    gone = sum(
        1
        for r in rows
        if (r.category, r.identity_key) not in found
        and r.category not in result.uncompared
        and r.issue_date is not None
        and scope.contains(r.issue_date)
    )
    return Closing(gone, len(rows))
