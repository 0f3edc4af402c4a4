"""What the status page shows: each component now (cheap checks run live, costly ones from the last
recorded run), each component per day over the last 30 days, incidents and notices."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, inspect, select

from fapiao.ops import history
from fapiao.ops.checks import Check, component_names, run_checks
from fapiao.ops.checks import live as live_checks
from fapiao.ops.notices import list_notices
from fapiao.ops.probe import make_probe


def status(engine: Engine, *, days: int = 30) -> dict[str, Any]:
    probe = make_probe(None, engine=engine)
    live = run_checks(probe, live_checks())
    checks = [c.to_json() for c in live.checks]
    recorded = history.last_results(engine) if probe.db_ok else {}
    for name in ("originals", "audit", "authority", "writable"):
        if name in recorded:
            checks.append({**recorded[name], "recorded_at": recorded[name]["at"]})
    levels = history.component_levels(checks)
    return {
        "components": [
            {
                "key": key,
                "zh": zh,
                "en": en,
                "level": levels.get(key, "skip"),
                "checks": [c for c in checks if c["component"] == key],
            }
            for key, (zh, en) in component_names().items()
        ],
        "history": history.daily(engine, days=days) if probe.db_ok else {},
        "incidents": incidents(engine) if probe.db_ok else {"open": [], "past": []},
        "notices": list_notices(engine)
        if probe.db_ok
        else {"current": [], "upcoming": [], "past": []},
        "runs": history.recent_runs(engine, limit=10) if probe.db_ok else [],
    }


def incidents(engine: Engine, *, limit: int = 50) -> dict[str, list[dict[str, Any]]]:
    """Open and past incidents from the contingency tables; empty when not installed."""
    out: dict[str, list[dict[str, Any]]] = {"open": [], "past": []}
    if not inspect(engine).has_table("contingency_incidents"):
        return out
    from fapiao.contingency.tables import incidents as t

    with engine.connect() as conn:
        for r in conn.execute(
            select(t).order_by(t.c.started_at.desc(), t.c.id.desc()).limit(limit)
        ):
            row = dict(r._mapping)
            try:
                row["scope"] = json.loads(row["scope"] or "{}")
            except ValueError:
                row["scope"] = {}
            out["open" if row["state"] == "open" else "past"].append(row)
    return out


def ready(engine: Engine) -> tuple[bool, list[Check]]:
    from fapiao.ops.checks import READY

    report = run_checks(make_probe(None, engine=engine), READY)
    return report.ok, report.checks
