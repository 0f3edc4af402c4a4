"""A period's 勾选 totals: count, 金额 and 税额 by purpose and by tax rate, and whether it is confirmed.

The rate split comes from the line items (one invoice may carry 13 % and 6 % lines), so an invoice
counts once under each rate it carries; the purpose totals come from the invoices themselves.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from fapiao.deduct.tables import periods, selections
from fapiao.ledger import schema
from fapiao.money import format_fen

inv, li = schema.invoices, schema.line_items


def _money(count: int, amount: Any, tax: Any) -> dict[str, Any]:
    # PostgreSQL sums bigints as numeric: back to int fen before formatting
    return {
        "count": count,
        "amount": format_fen(int(amount or 0)),
        "tax": format_fen(int(tax or 0)),
    }


def status_of(
    conn: Connection, *, tenant_id: int, period: str, with_invoices: bool = True
) -> dict[str, Any]:
    scope = (selections.c.tenant_id == tenant_id, selections.c.period == period)
    by_purpose = {
        r.purpose: (r.n, r.amount or 0, r.tax or 0)
        for r in conn.execute(
            select(
                selections.c.purpose,
                func.count().label("n"),
                func.sum(inv.c.amount).label("amount"),
                func.sum(inv.c.tax).label("tax"),
            )
            .join(inv, inv.c.id == selections.c.invoice_id)
            .where(*scope)
            .group_by(selections.c.purpose)
        )
    }
    purposes = {p: _money(*by_purpose.get(p, (0, 0, 0))) for p in ("deduct", "no_deduct")}
    by_rate = [
        {"purpose": r.purpose, "tax_rate": r.tax_rate, **_money(r.n, r.amount, r.tax)}
        for r in conn.execute(
            select(
                selections.c.purpose,
                li.c.tax_rate,
                func.count(func.distinct(li.c.invoice_id)).label("n"),
                func.sum(li.c.amount).label("amount"),
                func.sum(li.c.tax).label("tax"),
            )
            .join(li, li.c.invoice_id == selections.c.invoice_id)
            .where(*scope)
            .group_by(selections.c.purpose, li.c.tax_rate)
            .order_by(selections.c.purpose, li.c.tax_rate)
        )
    ]
    lock = conn.execute(
        select(periods).where(periods.c.tenant_id == tenant_id, periods.c.period == period)
    ).first()
    out: dict[str, Any] = {
        "tenant_id": tenant_id,
        "period": period,
        "confirmed": lock is not None,
        "confirmed_at": lock.confirmed_at if lock else None,
        "confirmed_by": lock.confirmed_by if lock else None,
        "purposes": purposes,
        "by_rate": by_rate,
    }
    if lock is not None:
        out["confirmed_totals"] = json.loads(lock.totals)
    if with_invoices:
        out["invoices"] = [
            {
                "id": str(r.id),
                "code": r.code,
                "number": r.number,
                "issue_date": r.issue_date.isoformat(),
                "seller": r.seller_name,
                "amount": format_fen(r.amount),
                "tax": format_fen(r.tax),
                "purpose": r.purpose,
                "reason": r.reason,
            }
            for r in conn.execute(
                select(inv, selections.c.purpose, selections.c.reason)
                .join(selections, inv.c.id == selections.c.invoice_id)
                .where(*scope)
                .order_by(inv.c.issue_date, inv.c.id)
            )
        ]
    return out


def candidates(
    conn: Connection, *, tenant_id: int, period: str, end: Any, limit: int = 500
) -> list[dict[str, Any]]:
    """What the month's page offers: received blue invoices issued by the period's end and not
    selected in another period (those selected in this one come ticked), newest first."""
    query = (
        select(inv, selections.c.period, selections.c.purpose)
        .outerjoin(selections, inv.c.id == selections.c.invoice_id)
        .where(
            inv.c.tenant_id == tenant_id,
            inv.c.direction == "received",
            inv.c.status == "normal",
            inv.c.issue_date <= end,
        )
        .where((selections.c.period.is_(None)) | (selections.c.period == period))
        .order_by(inv.c.issue_date.desc(), inv.c.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "key": r.identity_key,
            "issue_date": r.issue_date.isoformat(),
            "seller": r.seller_name,
            "kind": r.kind,
            "amount": format_fen(r.amount),
            "tax": format_fen(r.tax),
            "amount_fen": r.amount,
            "tax_fen": r.tax,
            "selected": r.period == period,
            "purpose": r.purpose or "",
        }
        for r in conn.execute(query)
    ]
