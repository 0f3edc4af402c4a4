"""The reminders job: what is coming due, told through notifications (`action.due`,
`reissue.due`, `backup.stale`). Each run tells again what is still due: a reminder is meant to
repeat until someone acts, at the pace the schedule sets."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from fapiao import plugins
from fapiao.schedule.outcome import Outcome

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _by_tenant(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        grouped[int(r["tenant_id"])].append(r)
    return grouped


def due_actions(engine: Engine, *, days: int, today: dt.date) -> list[dict[str, Any]]:
    """Open reconcile actions whose due date is within `days` (or past)."""
    from fapiao.reconcile.schema import reconcile_actions as t

    stmt = (
        select(t.c.tenant_id, t.c.identity_key, t.c.due_date)
        .where(t.c.state.in_(["open", "in_progress"]), t.c.due_date.is_not(None))
        .where(t.c.due_date <= today + dt.timedelta(days=days))
        .order_by(t.c.due_date, t.c.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def remind(engine: Engine, *, days: int, stale_hours: float) -> Outcome:
    from fapiao.backup.tables import last_runs
    from fapiao.contingency.reissue import list_requests

    today = dt.datetime.now(SHANGHAI).date()
    told: list[str] = []
    for tenant_id, rows in _by_tenant(due_actions(engine, days=days, today=today)).items():
        plugins.notify(engine, "action.due", tenant_id, count=len(rows), days=days,
                       first_due=str(rows[0]["due_date"]), keys=[r["identity_key"] for r in rows])  # fmt: skip
        told.append(f"actions {tenant_id}: {len(rows)}")
    for tenant_id, rows in _by_tenant(list_requests(engine, due_only=True, on=today)).items():
        plugins.notify(engine, "reissue.due", tenant_id, count=len(rows),
                       first_deadline=str(rows[0]["deadline"]), ids=[r["id"] for r in rows])  # fmt: skip
        told.append(f"reissues {tenant_id}: {len(rows)}")
    runs = last_runs(engine)
    age = runs["last_backup_age_s"]
    if age is None or age > stale_hours * 3600:
        last = runs["last_backup"]["at"] if runs["last_backup"] else "从未 never"
        hours = "∞" if age is None else f"{age / 3600:.0f}"
        plugins.notify(engine, "backup.stale", None, age_hours=hours, last=last)
        told.append(f"backup stale: {hours} h")
    return Outcome(True, "; ".join(told) or "nothing due")
