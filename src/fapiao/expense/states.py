"""The 入账 and 报销 state of invoices for the invoice page; listings read the same state through
the declaration in plugin.py (`BOOKING`, `CLAIM`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fapiao.expense.tables import bookings, claims

# what the /expense page's state menu offers, with the Chinese word
STATES = {
    "booked": ("已入账", "booked"),
    "unbooked": ("未入账", "not booked"),
    "claimed": ("已报销", "claimed"),
    "unclaimed": ("未报销", "not claimed"),
}


def of(conn: Connection, invoice_ids: list[int]) -> dict[int, dict[str, Any]]:
    """invoice id -> {"booked": {...} | None, "claim": {...} | None} for the ids given."""
    out: dict[int, dict[str, Any]] = {i: {"booked": None, "claim": None} for i in invoice_ids}
    if not invoice_ids:
        return out
    for r in conn.execute(select(bookings).where(bookings.c.invoice_id.in_(invoice_ids))):
        out[r.invoice_id]["booked"] = {"voucher": r.voucher, "at": r.booked_at, "by": r.booked_by}
    query = select(claims).where(
        claims.c.invoice_id.in_(invoice_ids), claims.c.active_key.is_not(None)
    )
    for r in conn.execute(query):
        out[r.invoice_id]["claim"] = {
            "claim": r.claim_no,
            "person": r.person,
            "at": r.claimed_at,
            "by": r.claimed_by,
        }
    return out


def history(conn: Connection, invoice_id: int) -> list[dict[str, Any]]:
    """Every claim line of the invoice, released ones included (for its page)."""
    rows = conn.execute(
        select(claims).where(claims.c.invoice_id == invoice_id).order_by(claims.c.id)
    )
    return [dict(r._mapping) for r in rows]
