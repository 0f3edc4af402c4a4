"""Reading a capability's events back in order, so its state tables can be checked against the
chain: what the events say the state is, compared with what the rows say (`checks` modules)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fapiao.ledger import schema


def events(
    conn: Connection, actions: tuple[str, ...], entity: str | None = None
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(action, entity_id, payload) of the events with these actions (on this kind of entity),
    oldest first."""
    ev = schema.events
    query = (
        select(ev.c.action, ev.c.entity_id, ev.c.payload)
        .where(ev.c.action.in_(actions))
        .order_by(ev.c.seq)
    )
    if entity is not None:
        query = query.where(ev.c.entity == entity)
    for action, entity_id, payload in conn.execution_options(yield_per=5000).execute(query):
        yield action, entity_id, json.loads(payload)


def differences(expected: dict[Any, Any], actual: dict[Any, Any], limit: int = 20) -> list[str]:
    """The keys whose state differs (missing, extra or changed), as text, at most `limit`."""
    keys = sorted(
        (k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)), key=str
    )
    return [str(k) for k in keys[:limit]]
