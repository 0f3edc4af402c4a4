"""A period's 勾选 totals: count, 金额 and 税额 by purpose and by tax rate, and whether it is confirmed.

The rate split comes from the line items (one invoice may carry 13 % and 6 % lines), so an invoice
counts once under each rate it carries; the purpose totals come from the invoices themselves.

A blue invoice counts net of the red invoices in the same books that reverse it (blue + reds, in
fen, their line items too): after a 部分红冲 only the remaining tax can be deducted. Such an invoice
is marked `reversal: partial` (`full` when nothing remains).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, func, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Subquery

from fapiao.deduct.tables import periods, selections
from fapiao.ledger import schema
from fapiao.money import format_fen

inv, li = schema.invoices, schema.line_items
REVERSAL = {"partial": ("部分红冲", "partly reversed"), "full": ("全额红冲", "fully reversed")}


def _money(count: int, amount: Any, tax: Any) -> dict[str, Any]:
    # PostgreSQL sums bigints as numeric: back to int fen before formatting
    return {
        "count": count,
        "amount": format_fen(int(amount or 0)),
        "tax": format_fen(int(tax or 0)),
    }


def reds(tenant_id: int) -> Subquery:
    """Per blue invoice of the tenant (its identity key), the sums of the red invoices reversing
    it: negative 金额 and 税额, and their 价税合计."""
    red = inv.alias("red")
    return (
        select(
            red.c.original_key.label("key"),
            func.sum(red.c.amount).label("amount"),
            func.sum(red.c.tax).label("tax"),
            func.sum(red.c.total).label("total"),
        )
        .where(red.c.tenant_id == tenant_id, red.c.status == "red", red.c.original_key != "")
        .group_by(red.c.original_key)
        .subquery("reds")
    )


def reversal(total: int, red_total: Any) -> str:
    """'' (not reversed), `partial` or `full`, from the blue 价税合计 and its reds' (negative)."""
    reversed_ = -int(red_total or 0)
    if reversed_ <= 0:
        return ""
    return "full" if reversed_ >= total else "partial"


def _lines(tenant_id: int, scope: tuple[Any, ...]) -> Subquery:
    """The line items counted for the selected invoices: their own, and those of the red
    invoices reversing them (negative), each under the blue invoice's purpose."""
    own = (
        select(
            selections.c.purpose,
            li.c.invoice_id.label("blue_id"),
            li.c.tax_rate,
            li.c.amount,
            li.c.tax,
        )
        .join(selections, selections.c.invoice_id == li.c.invoice_id)
        .where(*scope)
    )
    red, blue = inv.alias("red_inv"), inv.alias("blue_inv")
    reversing = (
        select(
            selections.c.purpose, blue.c.id.label("blue_id"), li.c.tax_rate, li.c.amount, li.c.tax
        )
        .select_from(
            selections.join(blue, blue.c.id == selections.c.invoice_id)
            .join(
                red,
                and_(
                    red.c.tenant_id == blue.c.tenant_id,
                    red.c.original_key == blue.c.identity_key,
                    red.c.status == "red",
                ),
            )
            .join(li, li.c.invoice_id == red.c.id)
        )
        .where(*scope, red.c.tenant_id == tenant_id)
    )
    return union_all(own, reversing).subquery("lines")


def status_of(
    conn: Connection, *, tenant_id: int, period: str, with_invoices: bool = True
) -> dict[str, Any]:
    scope = (selections.c.tenant_id == tenant_id, selections.c.period == period)
    r = reds(tenant_id)
    net_amount = inv.c.amount + func.coalesce(r.c.amount, 0)
    net_tax = inv.c.tax + func.coalesce(r.c.tax, 0)
    by_purpose = {
        row.purpose: (row.n, row.amount or 0, row.tax or 0)
        for row in conn.execute(
            select(
                selections.c.purpose,
                func.count().label("n"),
                func.sum(net_amount).label("amount"),
                func.sum(net_tax).label("tax"),
            )
            .join(inv, inv.c.id == selections.c.invoice_id)
            .outerjoin(r, r.c.key == inv.c.identity_key)
            .where(*scope)
            .group_by(selections.c.purpose)
        )
    }
    purposes = {p: _money(*by_purpose.get(p, (0, 0, 0))) for p in ("deduct", "no_deduct")}
    lines = _lines(tenant_id, scope)
    by_rate = [
        {"purpose": row.purpose, "tax_rate": row.tax_rate, **_money(row.n, row.amount, row.tax)}
        for row in conn.execute(
            select(
                lines.c.purpose,
                lines.c.tax_rate,
                func.count(func.distinct(lines.c.blue_id)).label("n"),
                func.sum(lines.c.amount).label("amount"),
                func.sum(lines.c.tax).label("tax"),
            )
            .group_by(lines.c.purpose, lines.c.tax_rate)
            .order_by(lines.c.purpose, lines.c.tax_rate)
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
                "id": str(row.id),
                "code": row.code,
                "number": row.number,
                "issue_date": row.issue_date.isoformat(),
                "seller": row.seller_name,
                "amount": format_fen(row.amount + int(row.red_amount or 0)),
                "tax": format_fen(row.tax + int(row.red_tax or 0)),
                "reversal": reversal(row.total, row.red_total),
                "purpose": row.purpose,
                "reason": row.reason,
            }
            for row in conn.execute(
                select(
                    inv,
                    selections.c.purpose,
                    selections.c.reason,
                    r.c.amount.label("red_amount"),
                    r.c.tax.label("red_tax"),
                    r.c.total.label("red_total"),
                )
                .join(selections, inv.c.id == selections.c.invoice_id)
                .outerjoin(r, r.c.key == inv.c.identity_key)
                .where(*scope)
                .order_by(inv.c.issue_date, inv.c.id)
            )
        ]
    return out


def candidates(
    conn: Connection, *, tenant_id: int, period: str, end: Any, limit: int = 500
) -> list[dict[str, Any]]:
    """What the month's page offers: received blue invoices issued by the period's end and not
    selected in another period (those selected in this one come ticked), newest first; each
    net of its red invoices and marked when reversed (in full, selecting it is refused)."""
    r = reds(tenant_id)
    query = (
        select(
            inv,
            selections.c.period,
            selections.c.purpose,
            r.c.amount.label("red_amount"),
            r.c.tax.label("red_tax"),
            r.c.total.label("red_total"),
        )
        .outerjoin(selections, inv.c.id == selections.c.invoice_id)
        .outerjoin(r, r.c.key == inv.c.identity_key)
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
    out = []
    for row in conn.execute(query):
        amount = row.amount + int(row.red_amount or 0)
        tax = row.tax + int(row.red_tax or 0)
        out.append(
            {
                "id": row.id,
                "key": row.identity_key,
                "issue_date": row.issue_date.isoformat(),
                "seller": row.seller_name,
                "kind": row.kind,
                "amount": format_fen(amount),
                "tax": format_fen(tax),
                "amount_fen": amount,
                "tax_fen": tax,
                "reversal": reversal(row.total, row.red_total),
                "selected": row.period == period,
                "purpose": row.purpose or "",
            }
        )
    return out
