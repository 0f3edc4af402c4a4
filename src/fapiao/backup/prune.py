"""`backup prune`: keep daily, weekly and monthly snapshots (grandfather-father-son), drop the rest,
and delete the chunks no kept snapshot needs.

Which snapshots stay: for each of the newest N days (weeks, months) that have a snapshot, the
newest snapshot of that day (ISO week, month), periods counted in China time (UTC+8), the time taken
from the snapshot's id (so a damaged manifest does not hide its age). A snapshot kept by any rule
stays; any rule with N ≥ 1 keeps the newest snapshot, which the next incremental builds on.

Mark and sweep: every chunk named by a kept snapshot's manifest is marked (a kept manifest that
cannot be read stops the prune before anything is deleted); the dropped manifests are deleted first,
then the unmarked chunks, so an interrupted prune leaves at worst unreferenced chunks, never a
manifest naming a missing chunk. Snapshots that appear while marking (a backup finishing meanwhile)
are marked too. A backup running *during* the sweep could reuse a chunk the sweep deletes, so a
prune holds the target's lease (`lease.py`): it does not start while a backup writes there, and a
backup does not start while it sweeps (that target is reported busy; the others are written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fapiao.backup import BackupError, lease
from fapiao.backup.repo import Repository, chunk_path

CHINA = dt.timezone(dt.timedelta(hours=8))
RULES: dict[str, Callable[[dt.datetime], tuple[int, ...]]] = {
    "daily": lambda t: (t.year, t.month, t.day),
    "weekly": lambda t: tuple(t.isocalendar())[:2],
    "monthly": lambda t: (t.year, t.month),
}


@dataclass(slots=True)
class PruneReport:
    target: str
    dry_run: bool
    keep: dict[str, list[str]] = field(default_factory=dict)  # id -> the rules keeping it
    remove: list[str] = field(default_factory=list)
    chunks_removed: int = 0
    chunks_kept: int = 0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "keep": [{"id": k, "rules": v} for k, v in sorted(self.keep.items())],
            "remove": self.remove,
            "chunks_removed": self.chunks_removed,
            "chunks_kept": self.chunks_kept,
            "error": self.error,
        }


def snapshot_time(sid: str) -> dt.datetime:
    """The id starts with its creation time in UTC: 20261204T170442123456Z-…"""
    return dt.datetime.strptime(sid[:21], "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC)


def choose(ids: list[str], keep: dict[str, int]) -> dict[str, list[str]]:
    """The ids to keep, each with the rules that keep it (`keep`: rule name -> how many periods)."""
    newest_first = sorted(ids, reverse=True)
    kept: dict[str, list[str]] = {}
    for rule, count in keep.items():
        if count <= 0:
            continue
        period = RULES[rule]
        seen: set[tuple[int, ...]] = set()
        for sid in newest_first:
            p = period(snapshot_time(sid).astimezone(CHINA))
            if p in seen:
                continue
            if len(seen) == count:
                break
            seen.add(p)
            kept.setdefault(sid, []).append(rule)
    return kept


def _needed(manifest: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for table in manifest["tables"]:
        for seg in [*table["segments"], *(table.get("patches") or [])]:
            found.update(chunk_path(c) for c in seg["chunks"])
    return found


def prune_repo(repo: Repository, keep: dict[str, int], *, dry_run: bool = False) -> PruneReport:
    report = PruneReport(repo.target.name, dry_run)
    try:
        held = None if dry_run else lease.acquire(repo.target, "prune")
    except BackupError as exc:
        report.error = str(exc)
        return report
    try:
        ids = repo.snapshot_ids()
        report.keep = choose(ids, keep)
        report.remove = [s for s in ids if s not in report.keep]
        marked: set[str] = set()
        for sid in report.keep:
            marked |= _needed(repo.load_manifest(sid))  # RepositoryError: nothing is deleted
        for sid in set(repo.snapshot_ids()) - set(ids):  # finished while we were marking
            report.keep[sid] = ["new"]
            marked |= _needed(repo.load_manifest(sid))
        chunks = repo.target.list("data")
        unmarked = [c for c in chunks if c not in marked]
        report.chunks_removed = len(unmarked)
        report.chunks_kept = len(chunks) - len(unmarked)
        if not dry_run:
            repo.target.delete([f"snapshots/{sid}" for sid in report.remove])
            repo.target.delete(unmarked)
    except BackupError as exc:
        report.error = str(exc)
    finally:
        if held is not None:
            lease.release(held)
    return report
