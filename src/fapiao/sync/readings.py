"""Readings taken from the ledger for the checks, the status page and /metrics (one query each)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from sqlalchemy import Engine, func, inspect, select


def has_table(engine: Engine, name: str) -> bool:
    return inspect(engine).has_table(name)


def outbox_reading(engine: Engine) -> dict[str, Any]:
    from fapiao.sync.tables import sync_outbox as ob

    with engine.connect() as conn:
        by_state = dict(
            conn.execute(select(ob.c.state, func.count()).group_by(ob.c.state)).tuples().all()
        )
        oldest = conn.scalar(
            select(func.min(ob.c.created_at)).where(ob.c.state.in_(["pending", "sent"]))
        )
    age = 0.0
    if oldest:
        age = max(
            0.0, (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds()
        )
    return {
        "depth": int(by_state.get("pending", 0) + by_state.get("sent", 0)),
        "pending": int(by_state.get("pending", 0)),
        "sent": int(by_state.get("sent", 0)),
        "parked": int(by_state.get("parked", 0)),
        "done": int(by_state.get("done", 0)),
        "oldest_age_s": round(age, 1),
    }


def breaker_reading(engine: Engine) -> dict[str, Any]:
    from fapiao.sync.tables import sync_state

    with engine.connect() as conn:
        raw = conn.scalar(select(sync_state.c.value).where(sync_state.c.name == "breaker"))
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        value = {}
    state = str(value.get("state") or "closed")
    opened = float(value.get("opened_at") or 0.0)
    return {
        "state": state,
        "reason": str(value.get("reason") or ""),
        "open_for_s": round(time.time() - opened, 1) if state != "closed" and opened else 0.0,
    }
