"""The run log kept in the ledger: every backup and every drill, per target, with its outcome.

Written through `Ledger.write()` with an event, so the log is part of the audit chain. Ops reads
the age of the last good backup and the last drill's result from here (`last_runs`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Column, Engine, Index, String, Table, Text, inspect, select

from fapiao import plugins
from fapiao.ledger.schema import blobs, metadata

if TYPE_CHECKING:
    from fapiao.ledger.store import Ledger

backup_runs = Table(
    "backup_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(10), nullable=False),  # backup / drill / prune
    Column("at", String(40), nullable=False),
    Column("target", String(400), nullable=False),
    Column("snapshot_id", String(40), nullable=False),
    Column("status", String(10), nullable=False),  # ok / failed
    Column("duration_ms", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Index(None, "kind", "at"),
)

# Incremental snapshots find new original files by creation time (see backup/plans.py).
blobs_created_at = Index("ix_blobs_created_at", blobs.c.created_at)


def record_runs(ledger: Ledger, kind: str, runs: list[dict[str, Any]]) -> list[int]:
    """One row per target; `runs` items carry target, snapshot_id, ok, duration_ms, detail."""
    if not runs:
        return []
    with ledger.write() as tx:
        ids = list(tx.new_ids(len(runs)))
        rows = [
            {
                "id": rid,
                "kind": kind,
                "at": tx.now,
                "target": run["target"][:400],
                "snapshot_id": run.get("snapshot_id") or "",
                "status": "ok" if run["ok"] else "failed",
                "duration_ms": int(run.get("duration_ms", 0)),
                "detail": json.dumps(run.get("detail", {}), ensure_ascii=False, sort_keys=True),
            }
            for rid, run in zip(ids, runs, strict=True)
        ]
        tx.insert(backup_runs, rows)
        for row in rows:
            tx.event(f"backup.{kind}", "backup_run", row["id"], row)
    for run in (
        r for r in runs if not r["ok"]
    ):  # after the commit: a failed backup or drill is told
        detail = run.get("detail") or {}
        plugins.notify(ledger.engine, f"{kind}.failed", None, target=run["target"], snapshot=run.get("snapshot_id") or "-",
                       error=str(detail.get("error", ""))[:300], problems=detail.get("problems", []))  # fmt: skip
    return ids


def last_runs(engine: Engine) -> dict[str, Any]:
    """The last good backup (and its age) and the last drill, for the status page."""
    out: dict[str, Any] = {"last_backup": None, "last_backup_age_s": None, "last_drill": None}
    if not inspect(engine).has_table("backup_runs"):
        return out
    t = backup_runs
    with engine.connect() as conn:
        backup = conn.execute(
            select(t)
            .where(t.c.kind == "backup", t.c.status == "ok")
            .order_by(t.c.at.desc(), t.c.id.desc())
            .limit(1)
        ).first()
        drill = conn.execute(
            select(t).where(t.c.kind == "drill").order_by(t.c.at.desc(), t.c.id.desc()).limit(1)
        ).first()
    if backup is not None:
        out["last_backup"] = _row(backup)
        age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(backup.at)
        out["last_backup_age_s"] = int(age.total_seconds())
    if drill is not None:
        out["last_drill"] = _row(drill)
    return out


def _row(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["detail"] = json.loads(d["detail"])
    return d


def per_target(engine: Engine) -> list[dict[str, Any]]:
    """Per target: its last backup (good or not), its last good one, its last drill, newest
    first — what the `/backups` page lists."""
    if not inspect(engine).has_table("backup_runs"):
        return []
    t = backup_runs
    with engine.connect() as conn:
        rows = conn.execute(
            select(t)
            .where(t.c.kind.in_(["backup", "drill"]))
            .order_by(t.c.at.desc(), t.c.id.desc())
        ).all()
    targets: dict[str, dict[str, Any]] = {}
    for row in rows:
        slot = targets.setdefault(
            row.target,
            {"target": row.target, "last_backup": None, "last_good": None, "last_drill": None},
        )
        if row.kind == "drill":
            slot["last_drill"] = slot["last_drill"] or _row(row)
            continue
        slot["last_backup"] = slot["last_backup"] or _row(row)
        if row.status == "ok":
            slot["last_good"] = slot["last_good"] or _row(row)
    return list(targets.values())
