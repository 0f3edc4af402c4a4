"""The 入账 and 报销 state of invoices, for listings (filter and columns) and the invoice page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from fapiao.expense.tables import bookings, claims

# what `list --state` accepts, with the Chinese word
STATES = {
    "booked": ("已入账", "booked"),
    "unbooked": ("未入账", "not booked"),
    "claimed": ("已报销", "claimed"),
    "unclaimed": ("未报销", "not claimed"),
}
BATCH = 1000


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


def annotate(
    engine: Engine, rows: Iterable[dict[str, Any]], wanted: list[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Listing rows with `booked` and `claim` added, kept only when every wanted state holds."""
    wanted = wanted or []
    it = iter(rows)
    with engine.connect() as conn:
        while batch := list(islice(it, BATCH)):
            found = of(conn, [int(r["id"]) for r in batch])
            for row in batch:
                state = found[int(row["id"])]
                row["booked"], row["claim"] = state["booked"], state["claim"]
                if all(_holds(w, state) for w in wanted):
                    yield row


def _holds(want: str, state: dict[str, Any]) -> bool:
    return {
        "booked": state["booked"] is not None,
        "unbooked": state["booked"] is None,
        "claimed": state["claim"] is not None,
        "unclaimed": state["claim"] is None,
    }[want]
