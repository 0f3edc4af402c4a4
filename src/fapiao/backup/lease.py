"""Leases on a backup target: a prune never sweeps chunks while a backup writes to the same target.

A backup may reuse a chunk that is already in the target; a prune running at that moment may
delete that very chunk as unreferenced, and the backup's manifest would name a missing chunk. So
each run takes a lease in the target itself (`locks/<kind>-<token>`, JSON: kind, holder, taken,
expires), where every process and every machine writing to that directory or bucket sees it:

* a backup does not conflict with another backup (chunks are named by content, manifests are new
  files), only with a prune;
* a prune conflicts with a backup and with another prune.

Taking a lease is "write mine, then look": a run writes its own lease and then lists the others;
if one it conflicts with is alive, it removes its own and refuses (`TargetBusy`). Of two runs that
start together at least one sees the other (both may step back; the next scheduled run goes on);
that needs no compare-and-swap, so it works the same on a directory and on any S3-compatible store.
A lease past its expiry (a run that crashed, a machine switched off) is ignored and swept by the
next taker. Expiry: `$FAPIAO_BACKUP_LEASE_H` hours (default 12), longer than any run should last.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from fapiao.backup import BackupError, TargetError
from fapiao.backup.targets import Target

FOLDER = "locks"
KINDS = ("backup", "prune")
CONFLICTS = {"backup": {"prune"}, "prune": {"backup", "prune"}}


class TargetBusy(TargetError):
    """Another run holds a lease this run conflicts with."""


@dataclass(frozen=True, slots=True)
class Lease:
    target: Target
    kind: str
    path: str


def hours() -> float:
    return float(os.environ.get("FAPIAO_BACKUP_LEASE_H", "12"))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _alive(target: Target, path: str, now: dt.datetime) -> dict[str, str] | None:
    """The lease's content while it has not expired; None for an expired or unreadable one."""
    try:
        doc = json.loads(target.read(path))
        expires = dt.datetime.fromisoformat(doc["expires"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None  # half a lease from a crashed writer holds nothing
    return doc if expires > now else None


def held(target: Target) -> list[dict[str, str]]:
    """The leases alive on the target now."""
    now = _now()
    found = (_alive(target, p, now) for p in target.list(FOLDER))
    return [doc for doc in found if doc is not None]


def acquire(target: Target, kind: str) -> Lease:
    if kind not in KINDS:
        raise ValueError(kind)
    now = _now()
    token = f"{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}"
    mine = f"{FOLDER}/{kind}-{token}"
    doc = {
        "kind": kind,
        "holder": f"{socket.gethostname()}:{os.getpid()}",
        "taken": now.isoformat(),
        "expires": (now + dt.timedelta(hours=hours())).isoformat(),
    }
    target.write(mine, json.dumps(doc).encode())
    stale: list[str] = []
    for path in target.list(FOLDER):
        if path == mine:
            continue
        other = _alive(target, path, now)
        if other is None:
            stale.append(path)
        elif other.get("kind") in CONFLICTS[kind]:
            target.delete([mine])
            raise TargetBusy(
                f"{target.name}: 目标正被占用（{other.get('kind')}，{other.get('holder')}，"
                f"至 {other.get('expires', '')[:19]}）/ the target is busy: a {other.get('kind')} "
                f"by {other.get('holder')} holds it until {other.get('expires', '')[:19]}"
            )
    if stale:  # sweeping someone's expired lease is a courtesy, not this run's business
        with suppress(BackupError):
            target.delete(stale)
    return Lease(target, kind, mine)


def release(lease: Lease) -> None:
    with suppress(BackupError):  # a lease left behind expires on its own
        lease.target.delete([lease.path])


@contextmanager
def leased(target: Target, kind: str) -> Iterator[Lease]:
    lease = acquire(target, kind)
    try:
        yield lease
    finally:
        release(lease)
