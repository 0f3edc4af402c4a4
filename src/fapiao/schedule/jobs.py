"""The jobs a schedule can run, each the same library call its command makes.

A job takes the ledger database and its argument list (what followed `--` on `schedule add`) and
returns an `Outcome`: ok or not, and a one-line summary kept as the schedule's last result. Its
arguments are parsed when the schedule is added, so a typo is refused then, not at two at night.
Secrets (the backup passphrase) come from the environment, as for the commands.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from sqlalchemy import Engine, select

from fapiao.ledger.store import Ledger
from fapiao.schedule.outcome import Outcome

ACTOR = "schedule"


class ArgsError(ValueError):
    """The job's arguments are wrong (shown with the job's usage)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise ArgsError(f"{self.prog}: {message}")


def _parser(job: str) -> _Parser:
    p = _Parser(prog=f"schedule {job}", add_help=False)
    if job == "backup":
        p.add_argument("--to", action="append", required=True)
        p.add_argument("--full", action="store_true")
    elif job == "prune":
        p.add_argument("--to", action="append", required=True)
        for rule in ("daily", "weekly", "monthly"):
            p.add_argument(f"--keep-{rule}", dest=rule, type=int, default=0)
    elif job == "drill":
        p.add_argument("--from", dest="source", required=True)
    elif job in ("reconcile", "verify"):
        default = os.environ.get("FAPIAO_AUTHORITY")
        p.add_argument("--authority", default=default, required=default is None)
        p.add_argument("--tenant")
        if job == "reconcile":
            p.add_argument("--period")
        else:
            p.add_argument("--limit", type=int, default=200)
    elif job == "reminders":
        p.add_argument("--days", type=int, default=3)
        p.add_argument("--stale-hours", type=float, default=26.0)
    return p


def parse_args(job: str, args: list[str]) -> argparse.Namespace:
    if job not in JOBS:
        raise ArgsError(f"unknown job {job!r}; known: {', '.join(JOBS)}")
    parsed = _parser(job).parse_args(args)
    if job == "prune" and (
        min(parsed.daily, parsed.weekly, parsed.monthly) < 0
        or max(parsed.daily, parsed.weekly, parsed.monthly) == 0
    ):
        raise ArgsError(
            "schedule prune: 请至少指定一个保留数 / give at least one of --keep-daily/--keep-weekly/"
            "--keep-monthly ≥ 1: pruning would delete everything"
        )
    return parsed


def run(job: str, engine: Engine, db: str | None, args: list[str]) -> Outcome:
    return JOBS[job][2](engine, db, parse_args(job, args))


# --- the jobs ------------------------------------------------------------------------------------


def _check(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.ops.daily import run_once  # records the run, signs a checkpoint, tells on failure

    level = run_once(db or engine.url.render_as_string(hide_password=False), source=ACTOR)
    return Outcome(level != "fail", f"self-check: {level}")


def _checkpoint(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.ops.daily import sign_and_send  # raises audit.checkpoint: a rule sends it out

    doc = sign_and_send(engine, ACTOR)
    return Outcome(True, f"checkpoint seq {doc['seq']} root {doc['root'][:16]}")


def _backup(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.backup import PASSPHRASE_ENV
    from fapiao.backup.create import create_backup
    from fapiao.backup.tables import record_runs  # tells people of a failed target

    results = create_backup(engine, a.to, os.environ.get(PASSPHRASE_ENV, ""), full=a.full)
    runs = [
        {
            "target": r.target,
            "snapshot_id": r.snapshot_id,
            "ok": r.ok,
            "duration_ms": r.duration_ms,
            "detail": r.to_json(),
        }
        for r in results
    ]
    record_runs(Ledger(engine, actor=ACTOR), "backup", runs)
    text = "; ".join(f"{r.target}: {r.snapshot_id if r.ok else r.error}" for r in results)
    return Outcome(all(r.ok for r in results), text)


def _prune(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.backup import PASSPHRASE_ENV, BackupError
    from fapiao.backup.prune import PruneReport, prune_repo
    from fapiao.backup.repo import Repository
    from fapiao.backup.tables import record_runs
    from fapiao.backup.targets import parse_target

    keep = {"daily": a.daily, "weekly": a.weekly, "monthly": a.monthly}
    reports: list[PruneReport] = []
    for spec in a.to:  # a target that fails (or is busy with a backup) is reported; others pruned
        try:
            repo = Repository.open(parse_target(spec), os.environ.get(PASSPHRASE_ENV, ""))
        except BackupError as exc:
            reports.append(PruneReport(spec, False, error=str(exc)))
            continue
        reports.append(prune_repo(repo, keep))
    runs = [{"target": r.target, "ok": r.ok, "detail": r.to_json()} for r in reports]
    record_runs(Ledger(engine, actor=ACTOR), "prune", runs)
    text = "; ".join(
        f"{r.target}: kept {len(r.keep)}, removed {len(r.remove)}"
        if r.ok
        else f"{r.target}: {r.error}"
        for r in reports
    )
    return Outcome(all(r.ok for r in reports), text)


def _drill(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.backup import PASSPHRASE_ENV
    from fapiao.backup.drill import run_drill  # records the drill, tells on failure
    from fapiao.backup.repo import Repository
    from fapiao.backup.targets import parse_target

    repo = Repository.open(parse_target(a.source), os.environ.get(PASSPHRASE_ENV, ""))
    report = run_drill(Ledger(engine, actor=ACTOR), repo)
    return Outcome(report.ok, f"drill {report.snapshot_id}: {'; '.join(report.problems) or 'ok'}")


def _reconcile(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.reconcile.run import run as reconcile  # files actions, tells of findings

    outcome = reconcile(
        Ledger(engine, actor=ACTOR), tenant=a.tenant, period=a.period, authority=a.authority
    )
    r = outcome.result
    return Outcome(True, f"{outcome.tenant_name}: matched {r.matched}, findings {r.findings}")


def _verify(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.authority.http import HttpConnector
    from fapiao.insight import settings
    from fapiao.insight.verify import RateLimit, unverified, verify_invoices
    from fapiao.ledger.schema import invoices

    stmt = select(invoices.c.id).where(invoices.c.direction == "received")
    if a.tenant:
        stmt = stmt.where(invoices.c.tenant_id == int(a.tenant))
    with engine.connect() as conn:
        received = list(conn.scalars(stmt.order_by(invoices.c.id.desc())))
    wanted = unverified(engine, received)[: a.limit]
    with HttpConnector(a.authority) as connector:
        outcomes = verify_invoices(
            Ledger(engine, actor=ACTOR),
            connector,
            wanted,
            daily_limit=int(settings.number(settings.VERIFY_DAILY_LIMIT)),
            rate=RateLimit(settings.number(settings.VERIFY_RATE)),
        )
    results = [o.result for o in outcomes]
    counted = {r: results.count(r) for r in sorted(set(results))}
    return Outcome(True, f"查验 {len(outcomes)}: {counted}")


def _reminders(engine: Engine, db: str | None, a: argparse.Namespace) -> Outcome:
    from fapiao.schedule.reminders import remind

    return remind(engine, days=a.days, stale_hours=a.stale_hours)


Job = Callable[[Engine, str | None, argparse.Namespace], Outcome]
JOBS: dict[str, tuple[str, str, Job]] = {
    "backup": ("备份", "backup", _backup),
    "prune": ("清理旧备份", "prune old backups", _prune),
    "drill": ("恢复演练", "restore drill", _drill),
    "reconcile": ("对账", "reconcile", _reconcile),
    "verify": ("查验新收到的发票", "查验 received invoices", _verify),
    "check": ("自检", "self-check", _check),
    "checkpoint": ("审计链检查点（签名并发送）", "sign and send an audit checkpoint", _checkpoint),
    "reminders": ("到期提醒", "due-date reminders", _reminders),
}
