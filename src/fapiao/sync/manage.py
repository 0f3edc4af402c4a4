"""The outbox as people handle it: what is queued, what is in flight, what the platform refused
and why; sending a parked or backing-off entry again now, or parking a queued one by hand.

Reads and changes go through the outbox's own shapes (`outbox.update_entries`, one `outbox.*`
event per change in the ledger's chain); the `/outbox` page and `GET /api/v1/outbox` read here.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from sqlalchemy import Engine, select

from fapiao.findings import Refusal
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.sync import outbox
from fapiao.sync.outbox import PARKED, PENDING, SENT
from fapiao.sync.tables import sync_outbox as ob

GROUPS = ("queued", "in_flight", "parked")
WORDS = {
    "queued": ("排队中", "queued"),
    "in_flight": ("发送中", "in flight"),
    "parked": ("已搁置", "parked"),
}


class OutboxError(Refusal, ValueError):
    """An entry that cannot be retried or parked as asked (gone, already sent …)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(Refusal.said("state", zh, en))


def group_of(row: dict[str, Any], now: float) -> str | None:
    if row["state"] == PARKED:
        return "parked"
    if row["state"] == SENT or (row["state"] == PENDING and row["lease_until"] > now):
        return "in_flight"  # with the platform, or leased by a worker sending it now
    if row["state"] == PENDING:
        return "queued"
    return None  # done


def entries(
    engine: Engine, tenants: Collection[int] | None, *, limit: int = 500
) -> list[dict[str, Any]]:
    """The entries not done yet, oldest first, within the granted `tenants` (None: all)."""
    inv = schema.invoices
    query = (
        select(
            ob.c.id,
            ob.c.invoice_id,
            ob.c.tenant_id,
            ob.c.op,
            ob.c.state,
            ob.c.attempts,
            ob.c.next_at,
            ob.c.lease_until,
            ob.c.last_error,
            ob.c.created_at,
            ob.c.updated_at,
            inv.c.identity_key,
            inv.c.number,
            inv.c.total,
        )
        .select_from(ob.join(inv, inv.c.id == ob.c.invoice_id))
        .where(ob.c.state.in_([PENDING, SENT, PARKED]))
        .order_by(ob.c.id)
        .limit(limit)
    )
    if tenants is not None:
        query = query.where(ob.c.tenant_id.in_(sorted(tenants)))
    now = time.time()
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        r["group"] = group_of(r, now)
        r["id"], r["invoice_id"] = str(r["id"]), str(r["invoice_id"])
        r["reason"] = r.pop("last_error")
        r["waiting_s"] = max(0, round(r.pop("next_at") - now)) if r["group"] == "queued" else 0
        r.pop("lease_until")
    return rows


def _entry(tx: Any, entry_id: int) -> Any:
    """The entry as this write sees it: the check and the change are one transaction, so a worker
    claiming it meanwhile cannot slip between them."""
    row = tx.conn.execute(select(ob).where(ob.c.id == entry_id)).first()
    if row is None:
        raise OutboxError(f"发件箱中没有 {entry_id}", f"no outbox entry {entry_id}")
    return row


def tenant_of(ledger: Ledger, entry_id: int) -> int | None:
    with ledger.engine.connect() as conn:
        return conn.scalar(select(ob.c.tenant_id).where(ob.c.id == entry_id))


def retry(ledger: Ledger, entry_id: int) -> None:
    """Send again at once: a parked entry as a new operation (new idempotency key, the platform
    refused the old one), a queued one backing off without waiting."""
    now = time.time()
    with ledger.write() as tx:
        row = _entry(tx, entry_id)
        values = _retried(row, now)
        outbox.update_entries(tx, "outbox.retried", [{"_id": entry_id, **values}])


def _retried(row: Any, now: float) -> dict[str, Any]:
    if row.state == PARKED:
        values: dict[str, Any] = {
            "state": PENDING,
            "generation": row.generation + 1,
            "idem_key": outbox.new_key(row.op),
            "next_at": now,
            "lease_owner": "",
            "lease_until": 0.0,
        }
        return values
    if row.state == PENDING and row.lease_until <= now:
        return {"next_at": now}
    raise OutboxError(f"{row.id} 正在发送或已完成，不能重试", f"{row.id} is in flight or done")


def park(ledger: Ledger, entry_id: int, reason: str) -> None:
    """Stop sending a queued entry until someone retries it, with the reason."""
    why = f"人工搁置 / parked by hand: {reason.strip()[:500] or '-'}"
    with ledger.write() as tx:
        row = _entry(tx, entry_id)
        if row.state != PENDING or row.lease_until > time.time():
            raise OutboxError(
                f"{entry_id} 不在排队中，不能搁置", f"{entry_id} is not queued: cannot park it"
            )
        outbox.update_entries(
            tx, "outbox.parked_by_hand", [{"_id": entry_id, "state": PARKED, "last_error": why}]
        )
