"""`drill`: prove the newest backup restores. Each step is timed and the result is kept in the ledger.

Steps: restore the newest snapshot into a scratch database (a temporary SQLite file unless one is
given); `audit verify` on it; compare every table's row count and every segment's hash with the
manifest by dumping the restored database again; check that the restored chain head is an event of
the live ledger's chain (same seq, same hash), so the copy is this ledger's own history.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select

from fapiao.backup import BackupError
from fapiao.backup.dump import TableReader, encode_rows, overrides, read_head
from fapiao.backup.repo import Repository
from fapiao.backup.restore import (
    NOT_RESTORED,
    current_rows,
    pick_manifest,
    restore,
    segment_plain,
)
from fapiao.backup.tables import record_runs
from fapiao.ledger import audit, schema
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger

T = TypeVar("T")


@dataclass(slots=True)
class DrillReport:
    target: str
    snapshot_id: str = ""
    snapshot_created_at: str = ""
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "snapshot_id": self.snapshot_id,
            "snapshot_created_at": self.snapshot_created_at,
            "steps": {k: round(v, 3) for k, v in self.steps.items()},
            "counts": self.counts,
            "problems": self.problems,
        }

    def timed(self, step: str, fn: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            return fn()
        finally:
            self.steps[step] = time.monotonic() - started


def run_drill(
    live: Ledger, repo: Repository, *, scratch: str | None = None, record: bool = True
) -> DrillReport:
    report = DrillReport(repo.target.name)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fapiao-drill-") as tmp:
        db = scratch or str(Path(tmp) / "drill.sqlite")
        try:
            manifest = pick_manifest(repo, None)
            report.snapshot_id = manifest["id"]
            report.snapshot_created_at = manifest["created_at"]
            restored = report.timed("restore", lambda: restore(repo, manifest["id"], db))
            report.counts = restored.tables
            engine = open_engine(db)
            try:
                _check(report, repo, manifest, engine, live.engine)
            finally:
                engine.dispose()
        except BackupError as exc:
            report.problems.append(str(exc))
    report.steps["total"] = time.monotonic() - started
    if record:
        record_runs(
            live,
            "drill",
            [
                {
                    "target": repo.target.name,
                    "snapshot_id": report.snapshot_id,
                    "ok": report.ok,
                    "duration_ms": int(report.steps["total"] * 1000),
                    "detail": report.to_json(),
                }
            ],
        )
    return report


def _check(
    report: DrillReport, repo: Repository, manifest: dict[str, Any], engine: Engine, live: Engine
) -> None:
    checked = report.timed("audit", lambda: audit.verify(engine))
    for p in checked.problems:
        report.problems.append(f"audit: {p.field}: {p.message} / {p.message_en}")
    report.timed("compare", lambda: _compare_segments(report, repo, manifest, engine))
    report.timed("chain", lambda: _compare_chain(report, manifest, engine, live))


def _compare_segments(
    report: DrillReport, repo: Repository, manifest: dict[str, Any], engine: Engine
) -> None:
    with engine.connect() as conn, conn.begin():
        for entry in manifest["tables"]:
            name = entry["name"]
            if name in NOT_RESTORED:
                continue
            reader = TableReader.for_table(conn, name)
            if reader.columns != entry["columns"] or reader.plan.key != entry["key"]:
                report.problems.append(f"{name}: 表结构与备份不同 / columns differ from the backup")
                continue
            segs = entry["segments"]
            rows = 0
            if entry["key"] is None:
                again = [s.sha for s in reader.segments()]
                rows = sum(s["rows"] for s in segs)
                if again != [s["sha"] for s in segs]:
                    report.problems.append(
                        f"{name}: 内容与备份不符 / content differs from the backup"
                    )
                continue
            ov = overrides(entry)
            k = entry["columns"].index(entry["key"]) if ov else 0
            patched: dict[Any, list[Any]] = {}
            for idx, patch in enumerate(entry.get("patches") or []):
                plain = segment_plain(repo, patch, f"{name} patch {idx}")
                for row in current_rows(entry, -1 - idx, json.loads(plain), ov):
                    patched.setdefault(row[k], []).append(row)
            los = [s["lo"] for s in segs[1:]]
            in_seg: dict[int, list[Any]] = {}
            for key in ov:
                in_seg.setdefault(bisect.bisect_right(los, key), []).append(key)
            for i, seg in enumerate(segs):
                hi = segs[i + 1]["lo"] if i + 1 < len(segs) else None
                parts = list(reader.segments(seg["lo"], hi))
                rows += sum(p.rows for p in parts)
                expected = seg["sha"]
                if i in in_seg:
                    plain = segment_plain(repo, seg, f"{name}[{i}]")
                    merged = current_rows(entry, i, json.loads(plain), ov)
                    merged += [r for key in in_seg[i] for r in patched.get(key, [])]
                    merged.sort(key=reader.sort_key())
                    expected = hashlib.sha256(encode_rows(merged)).hexdigest()
                if [p.sha for p in parts] != [expected]:
                    report.problems.append(
                        f"{name}[{i}]: 恢复后的数据段与备份不符 / restored segment differs from the backup"
                    )
            if not ov and rows != entry["rows"]:  # with patches, the segments above cover it
                report.problems.append(
                    f"{name}: 行数 {rows} ≠ 备份 {entry['rows']} / row count differs from the backup"
                )


def _compare_chain(
    report: DrillReport, manifest: dict[str, Any], engine: Engine, live: Engine
) -> None:
    with engine.connect() as conn:
        head = read_head(conn)
    if head != manifest["head"]:
        report.problems.append("ledger_head: 恢复后的链头与备份不符 / restored chain head differs")
        return
    if head["seq"] == 0:
        return
    ev = schema.events
    with live.connect() as conn:
        live_hash = conn.execute(select(ev.c.hash).where(ev.c.seq == head["seq"])).scalar()
    if live_hash != head["hash"]:
        report.problems.append(
            f"events: 备份的链头（事件 {head['seq']}）不在当前台账的链上 / the backup's chain head "
            f"(event {head['seq']}) is not in the live ledger's chain"
        )
