"""The self-check history: each run kept in `ops_check_runs` with an `ops.checked` event, and the
per-component, per-day view of the last 30 days that the status page draws."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, select

from fapiao.ledger.store import Ledger
from fapiao.ops.checks import RANK, SKIP, Report, component_names, worst
from fapiao.ops.state import write_state
from fapiao.ops.tables import check_runs


def record_run(ledger: Ledger, report: Report, *, source: str) -> int:
    results = [c.to_json() for c in report.checks]
    with ledger.write() as tx:
        (run_id,) = tx.new_ids(1)
        row = {
            "id": run_id,
            "at": tx.now,
            "source": source[:20],
            "level": report.level,
            "duration_ms": report.duration_ms,
            "results": json.dumps(results, ensure_ascii=False, sort_keys=True),
        }
        tx.insert(check_runs, [row])
        cursor = report.state.get("originals_cursor")
        if cursor is not None:
            write_state(tx.conn, "originals", cursor)
        tx.event(
            "ops.checked",
            "ops_check",
            run_id,
            {
                "source": row["source"],
                "level": row["level"],
                "checks": {c.name: c.level for c in report.checks},
                "originals_cursor": cursor,
            },
        )
    return run_id


def recent_runs(engine: Engine, *, limit: int = 20) -> list[dict[str, Any]]:
    t = check_runs
    with engine.connect() as conn:
        rows = conn.execute(select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit))
        return [{**dict(r._mapping), "results": json.loads(r.results)} for r in rows]


def last_results(engine: Engine) -> dict[str, dict[str, Any]]:
    """check name -> its most recent recorded result (for checks too costly to run per page view)."""
    runs = recent_runs(engine, limit=1)
    return {c["check"]: {**c, "at": runs[0]["at"]} for c in runs[0]["results"]} if runs else {}


def daily(engine: Engine, *, days: int = 30, today: dt.date | None = None) -> dict[str, Any]:
    """component -> list of (date, level) for the last `days` days, oldest first; `none` when no
    check ran that day."""
    today = today or dt.datetime.now(dt.UTC).date()
    first = today - dt.timedelta(days=days - 1)
    t = check_runs
    per: dict[str, dict[dt.date, str]] = {c: {} for c in component_names()}
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.at, t.c.results).where(t.c.at >= first.isoformat()))
        for r in rows:
            day = dt.datetime.fromisoformat(r.at).date()
            for c in json.loads(r.results):
                comp = c.get("component")
                if comp not in per or c.get("level") == SKIP:
                    continue
                seen = per[comp].get(day, SKIP)
                if RANK.get(c["level"], 0) > RANK[seen]:
                    per[comp][day] = c["level"]
    dates = [first + dt.timedelta(days=n) for n in range(days)]
    return {
        comp: [{"date": d.isoformat(), "level": levels.get(d, "none")} for d in dates]
        for comp, levels in per.items()
    }


def component_levels(checks: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, list[str]] = {c: [] for c in component_names()}
    for c in checks:
        out.setdefault(c["component"], []).append(c["level"])
    return {
        comp: (worst(levels) if any(lv != SKIP for lv in levels) else SKIP)
        for comp, levels in out.items()
    }
