"""A tenant's rules for its own people. Four eyes: an approval must be made by someone other than
the person who asked for it (补开 requests, `contingency.reissue`; 红字确认单, `red.service`;
reconcile remedies, `reconcile.approval`). Each change is an event.

One person may act through several doors (`cli:wang` on the command line, `web:wang` in the
browser): four eyes compares the person, not the door, everywhere it is asked."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from fapiao.ledger import schema
from fapiao.ledger.store import Ledger

pol = schema.tenant_policies


def four_eyes(conn: Any, tenant_id: int) -> bool:
    value = conn.execute(select(pol.c.four_eyes).where(pol.c.tenant_id == tenant_id)).scalar()
    return bool(value)


def set_four_eyes(ledger: Ledger, tenant_id: int, on: bool) -> None:
    with ledger.write() as tx:
        present = tx.conn.execute(
            select(pol.c.tenant_id).where(pol.c.tenant_id == tenant_id)
        ).first()
        values = {"four_eyes": int(on), "updated_at": tx.now}
        if present is None:
            tx.conn.execute(insert(pol).values(tenant_id=tenant_id, **values))
        else:
            tx.conn.execute(update(pol).where(pol.c.tenant_id == tenant_id).values(**values))
        tx.event("tenant.policy", "tenant", tenant_id, {"four_eyes": on}, tenant_id=tenant_id)


def requested_by(conn: Any, entity: str, entity_id: int, actions: tuple[str, ...]) -> set[str]:
    """Who asked: the actors of the events that created or submitted the thing."""
    ev = schema.events
    query = select(ev.c.actor).where(
        ev.c.entity == entity, ev.c.entity_id == str(entity_id), ev.c.action.in_(actions)
    )
    return set(conn.execute(query).scalars())


def person(actor: str) -> str:
    """The person behind an actor string: `cli:wang` and `web:wang` are both `wang`."""
    return actor.partition(":")[2] or actor


def same_person(actor: str, *others: str) -> bool:
    """Is `actor` one of the people behind `others` (four eyes refuses them)?"""
    return person(actor) in {person(o) for o in others}
