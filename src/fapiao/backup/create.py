"""`backup create`: one consistent snapshot, written to every target; a failing target is reported
and does not stop the others.

The snapshot is read in one transaction (SQLite: one read transaction over the WAL; PostgreSQL:
REPEATABLE READ), so the ledger can be written meanwhile. Targets whose newest snapshot is the same
share one pass over the database; each stores only the segments it does not have yet.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import Connection

from fapiao.backup import BackupError, lease
from fapiao.backup.dump import (
    Kept,
    KeptPatch,
    NewPatch,
    parent_usable,
    read_head,
    snapshot_tables,
)
from fapiao.backup.lease import Lease
from fapiao.backup.repo import Repository
from fapiao.backup.targets import parse_target
from fapiao.ledger import checkpoint

FORMAT_NOTE = "fapiao logical snapshot v1"


@dataclass(slots=True)
class TargetResult:
    target: str
    ok: bool = False
    snapshot_id: str = ""
    kind: str = ""
    parent: str | None = None
    error: str = ""
    rows: int = 0
    plain_bytes: int = 0
    stored_bytes: int = 0
    segments_new: int = 0
    segments_kept: int = 0
    duration_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "snapshot_id": self.snapshot_id,
            "kind": self.kind,
            "parent": self.parent,
            "error": self.error,
            "rows": self.rows,
            "plain_bytes": self.plain_bytes,
            "stored_bytes": self.stored_bytes,
            "segments_new": self.segments_new,
            "segments_kept": self.segments_kept,
            "duration_ms": self.duration_ms,
        }


@dataclass(slots=True)
class _Out:
    """One target during a run."""

    result: TargetResult
    repo: Repository
    lease: Lease
    parent: dict[str, Any] | None = None
    tables: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, exc: Exception) -> None:
        self.result.ok = False
        self.result.error = str(exc)


def new_snapshot_id(now: dt.datetime) -> str:
    """Sorts by time to the microsecond: two backups within one second must still sort in order,
    since the newest snapshot is the last id."""
    return f"{now:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def _snapshot_conn(engine: Engine) -> Connection:
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def _revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        return []
    return sorted(r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version"))


def create_backup(
    engine: Engine, targets: list[str], passphrase: str, *, full: bool = False
) -> list[TargetResult]:
    started = time.monotonic()
    now = dt.datetime.now(dt.UTC)
    sid = new_snapshot_id(now)
    outs: list[_Out] = []
    results: list[TargetResult] = []
    for spec in targets:
        result = TargetResult(spec)
        results.append(result)
        try:
            repo = Repository.open(parse_target(spec), passphrase, create=True)
            held = lease.acquire(repo.target, "backup")  # no prune sweeps while we write
        except BackupError as exc:
            result.error = str(exc)
            continue
        try:
            parent = None if full else repo.newest()
        except BackupError as exc:
            lease.release(held)
            result.error = str(exc)
            continue
        result.ok = True
        outs.append(_Out(result, repo, held, parent))
    try:
        _write(engine, outs, sid, now)
    finally:
        for out in outs:
            lease.release(out.lease)
    elapsed = int((time.monotonic() - started) * 1000)
    for r in results:
        r.duration_ms = elapsed
    return results


def _write(engine: Engine, outs: list[_Out], sid: str, now: dt.datetime) -> None:
    with _snapshot_conn(engine) as conn, conn.begin():
        head = read_head(conn)
        revisions = _revisions(conn)
        groups: dict[str | None, list[_Out]] = {}
        for out in outs:
            if out.parent is not None and not parent_usable(conn, out.parent, head):
                out.parent = None
            groups.setdefault(out.parent["id"] if out.parent else None, []).append(out)
        for group in groups.values():
            _write_group(conn, group, head, sid)
    attested = checkpoint.summary(engine)
    for out in outs:
        if not out.result.ok:
            continue
        manifest = {
            "id": sid,
            "format": FORMAT_NOTE,
            "created_at": now.isoformat(timespec="microseconds"),
            "kind": "incremental" if out.parent else "full",
            "parent": out.parent["id"] if out.parent else None,
            "engine": engine.dialect.name,
            "head": head,
            "revisions": revisions,
            "tables": out.tables,
            "rows": out.result.rows,
            "plain_bytes": out.result.plain_bytes,
            "checkpoint": attested,  # the newest signed head of the audit chain, if any
        }
        try:
            out.repo.save_manifest(manifest)
        except BackupError as exc:
            out.fail(exc)
            continue
        out.result.snapshot_id = sid
        out.result.kind = manifest["kind"]
        out.result.parent = manifest["parent"]
        out.result.stored_bytes = out.repo.written


def _write_group(conn: Connection, group: list[_Out], head: dict[str, Any], sid: str) -> None:
    parent = group[0].parent
    for dump in snapshot_tables(conn, parent, head):
        entries = {
            id(out): {**dump.header(), "rows": 0, "reread": 0, "segments": [], "patches": []}
            for out in group
        }
        parents = {
            id(out): {t["name"]: t for t in out.parent["tables"]} if out.parent else {}
            for out in group
        }
        for op in dump.ops:
            live = [out for out in group if out.result.ok]
            if not live:
                return
            for out in live:
                entry = entries[id(out)]
                if isinstance(op, Kept):
                    record = parents[id(out)][dump.name]["segments"][op.index]
                    out.result.segments_kept += 1
                elif isinstance(op, KeptPatch):
                    entry["patches"].append(parents[id(out)][dump.name]["patches"][op.index])
                    continue
                else:
                    try:
                        chunks = [out.repo.put_chunk(piece) for piece in op.pieces()]
                    except BackupError as exc:
                        out.fail(exc)
                        continue
                    record = op.record(chunks) | {"at": sid}
                    out.result.segments_new += 1
                    out.result.plain_bytes += record["size"]
                    if isinstance(op, NewPatch):
                        entry["patches"].append(record)
                        continue
                    entry["reread"] += 1
                entry["segments"].append(record)
                entry["rows"] += record["rows"]
                out.result.rows += record["rows"]
        for out in group:
            if out.result.ok:
                out.tables.append(entries[id(out)])
