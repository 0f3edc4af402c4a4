"""Re-hashing the original files kept in `blobs`: every one of them while there are fewer than
`originals_all_below`, else a rotating slice so that each is re-hashed at least once per
`originals_cycle_days`.

The rotation walks the SHA-256 keys in order from a cursor kept in `ops_state` (saved with the
check run). Each run takes its share of what is left of the cycle: `remaining / days left`, so a
missed day is caught up by the next run and a cycle never overruns while the check runs daily.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from fapiao.ledger import schema
from fapiao.ops.state import get_state

STATE = "originals"


@dataclass(slots=True)
class Rehash:
    total: int = 0
    checked: int = 0
    mode: str = "all"
    damaged: list[dict[str, Any]] = field(default_factory=list)
    next_state: dict[str, Any] | None = None


def rehash(engine: Engine, settings: Any, *, now: dt.datetime | None = None) -> Rehash:
    now = now or dt.datetime.now(dt.UTC)
    b = schema.blobs
    out = Rehash()
    with engine.connect() as conn:
        out.total = conn.scalar(select(func.count()).select_from(b)) or 0
    query = select(b.c.sha256, b.c.size, b.c.data).order_by(b.c.sha256)
    if out.total >= settings.originals_all_below:
        out.mode = "rotation"
        state = get_state(engine, STATE) or {}
        cursor = str(state.get("cursor", ""))
        started = _parse(state.get("cycle_started")) or now
        with engine.connect() as conn:
            remaining = (
                conn.scalar(select(func.count()).select_from(b).where(b.c.sha256 > cursor)) or 0
            )
        elapsed = (now - started).total_seconds() / 86400
        days_left = max(1.0, settings.originals_cycle_days - elapsed)
        take = max(1, math.ceil(remaining / days_left))
        query = query.where(b.c.sha256 > cursor).limit(take)
        last = cursor
    with engine.connect() as conn:
        for row in conn.execution_options(stream_results=True, yield_per=64).execute(query):
            out.checked += 1
            data = bytes(row.data)
            if hashlib.sha256(data).hexdigest() != row.sha256 or len(data) != row.size:
                out.damaged.append(
                    {"sha256": row.sha256, "size": row.size, "found_size": len(data)}
                )
            if out.mode == "rotation":
                last = row.sha256
    if out.mode == "rotation":
        finished = out.checked >= remaining
        out.next_state = (
            {"cursor": "", "cycle_started": now.isoformat()}
            if finished
            else {"cursor": last, "cycle_started": started.isoformat()}
        )
    if out.damaged:
        _where(engine, out.damaged)
    return out


def _parse(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _where(engine: Engine, damaged: list[dict[str, Any]]) -> None:
    """Names what each damaged file belongs to: invoices, quarantined input, ticket attachments."""
    keys = [d["sha256"] for d in damaged]
    inv, q = schema.invoices, schema.quarantine
    with engine.connect() as conn:
        owners: dict[str, list[str]] = {}
        for r in conn.execute(
            select(inv.c.original_sha256, inv.c.id).where(inv.c.original_sha256.in_(keys))
        ):
            owners.setdefault(r.original_sha256, []).append(f"invoice {r.id}")
        for r in conn.execute(select(q.c.sha256, q.c.file_name).where(q.c.sha256.in_(keys))):
            owners.setdefault(r.sha256, []).append(f"quarantine {r.file_name}")
        from fapiao.ops.tables import ticket_files as tf

        for r in conn.execute(select(tf.c.sha256, tf.c.ticket_id).where(tf.c.sha256.in_(keys))):
            owners.setdefault(r.sha256, []).append(f"ticket {r.ticket_id}")
    for d in damaged:
        d["where"] = ", ".join(owners.get(d["sha256"], [])[:5]) or "unreferenced"
