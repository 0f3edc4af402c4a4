"""Pause and resume invoice operations per tenant, with a reason.

While a tenant is paused its outbox entries are held (the worker claims none of them) and `issue`
is refused with the pause's reason. Pausing and resuming are events (`tenant.paused`,
`tenant.resumed`); the row keeps the latest state, the events keep the history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.sql import ColumnElement

from fapiao.contingency.common import ContingencyError
from fapiao.contingency.tables import pauses
from fapiao.findings import Finding, finding
from fapiao.ledger.store import Ledger

PAUSED, ACTIVE = "paused", "active"


def not_paused(tenant_column: Any) -> ColumnElement[bool]:
    """SQL condition: the row's tenant is not paused (the outbox's hold)."""
    held = select(pauses.c.tenant_id).where(pauses.c.state == PAUSED)
    return tenant_column.not_in(held)


def paused(engine: Engine) -> dict[int, dict[str, Any]]:
    """tenant id -> {reason, since, actor} for every paused tenant."""
    with engine.connect() as conn:
        rows = conn.execute(select(pauses).where(pauses.c.state == PAUSED))
        return {r.tenant_id: {"reason": r.reason, "since": r.since, "actor": r.actor} for r in rows}


def refusal(reason: str) -> Finding:
    return finding("tenant_paused", "seller.tax_id", reason=reason)


def pause(ledger: Ledger, tenant_id: int, reason: str) -> None:
    reason = reason.strip()
    if not reason:
        raise ContingencyError("暂停需要说明原因", "a pause needs a reason", code="usage")
    with ledger.write() as tx:
        row = tx.conn.execute(select(pauses).where(pauses.c.tenant_id == tenant_id)).first()
        if row is not None and row.state == PAUSED:
            raise ContingencyError(
                f"企业已暂停（{row.reason}）", f"already paused ({row.reason})", code="state"
            )
        values = {"state": PAUSED, "reason": reason[:2000], "since": tx.now, "actor": tx.actor}
        if row is None:
            tx.insert(pauses, [{"tenant_id": tenant_id, **values}])
        else:
            tx.conn.execute(update(pauses).where(pauses.c.tenant_id == tenant_id).values(values))
        tx.event("tenant.paused", "tenant", tenant_id, {"reason": reason}, tenant_id=tenant_id)


def resume(ledger: Ledger, tenant_id: int, note: str = "") -> None:
    with ledger.write() as tx:
        row = tx.conn.execute(select(pauses).where(pauses.c.tenant_id == tenant_id)).first()
        if row is None or row.state != PAUSED:
            raise ContingencyError("企业未暂停", "the tenant is not paused", code="state")
        tx.conn.execute(
            update(pauses)
            .where(pauses.c.tenant_id == tenant_id)
            .values(state=ACTIVE, since=tx.now, actor=tx.actor)
        )
        tx.event(
            "tenant.resumed",
            "tenant",
            tenant_id,
            {"note": note.strip(), "paused_since": row.since, "reason": row.reason},
            tenant_id=tenant_id,
        )
