"""Adding, listing and running schedules; the lease that keeps one run per job; the thread in `serve`.

A due job is taken with one conditional UPDATE (`next_at <= now AND lease_until <= now`): the
database decides which of several processes runs it, on SQLite and PostgreSQL alike. After the run
its next time is computed from the moment it finished, so a server that was down for three days
runs a daily job once when it comes back, not three times.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from fapiao.ledger.db import WRITE
from fapiao.ledger.store import Ledger, utc_now
from fapiao.schedule import jobs, timing
from fapiao.schedule.tables import schedule_jobs as sj

TICK_S = 1.0  # how often `serve` looks for due jobs


def lease_s() -> float:
    """How long a run may hold its job before another process may take it (a dead runner)."""
    return float(os.environ.get("FAPIAO_SCHEDULE_LEASE_S", "3600"))


def owner_id() -> str:
    return f"{socket.gethostname()[:60]}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


class ScheduleError(ValueError):
    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def add(
    ledger: Ledger,
    job: str,
    when: timing.When,
    args: list[str],
    *,
    name: str | None = None,
    now: float | None = None,
) -> str:
    """Add a schedule (named after its job unless `name`); its first run is one interval away."""
    try:
        jobs.parse_args(job, args)
    except jobs.ArgsError as exc:
        raise ScheduleError(
            "bad_args", f"任务参数无效：{exc}", f"bad job arguments: {exc}"
        ) from exc
    name = name or job
    now = time.time() if now is None else now
    with ledger.write() as tx:
        conn = tx.conn
        if conn.scalar(select(sj.c.name).where(sj.c.name == name)):
            raise ScheduleError("exists", f"计划 {name} 已存在", f"schedule {name} exists")
        conn.execute(
            insert(sj).values(
                name=name,
                job=job,
                every_s=when.every_s,
                cron=when.cron,
                args=json.dumps(args, ensure_ascii=False),
                next_at=timing.next_after(when, now),
                lease_owner="",
                lease_until=0.0,
                runs=0,
                last_started="",
                last_finished="",
                last_ok=None,
                last_result="",
                created_at=utc_now(),
            )
        )
        tx.event(
            "schedule.added", "schedule", name, {"job": job, "when": when.text(), "args": args}
        )
    return name


def remove(ledger: Ledger, name: str) -> None:
    with ledger.write() as tx:
        if tx.conn.execute(delete(sj).where(sj.c.name == name)).rowcount == 0:
            raise ScheduleError("not_found", f"没有计划 {name}", f"no schedule {name}")
        tx.event("schedule.removed", "schedule", name, {})


def listing(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(sj).order_by(sj.c.name))]
    for r in rows:
        r["args"] = json.loads(r["args"])
        r["when"] = timing.When(r["every_s"], r["cron"]).text()
        r["next_run"] = _iso(r["next_at"])
        r["running"] = r["lease_until"] > time.time()
        r["last_ok"] = None if r["last_ok"] is None else bool(r["last_ok"])
        for private in ("lease_owner", "lease_until"):
            del r[private]
    return rows


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, timing.zone()).isoformat(timespec="seconds")


def take(engine: Engine, name: str, owner: str, now: float) -> bool:
    """The lease: True for exactly one caller while the job is due and nobody runs it."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        taken = conn.execute(
            update(sj)
            .where(sj.c.name == name, sj.c.next_at <= now, sj.c.lease_until <= now)
            .values(lease_owner=owner, lease_until=now + lease_s(), last_started=utc_now())
        ).rowcount
    return taken == 1


def _keep_lease(engine: Engine, name: str, owner: str, done: threading.Event) -> None:
    """While the job runs, push its lease forward, so a backup longer than the lease is not
    taken for a dead runner's and started a second time."""
    while not done.wait(lease_s() / 3):
        with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(
                update(sj)
                .where(sj.c.name == name, sj.c.lease_owner == owner)
                .values(lease_until=time.time() + lease_s())
            )


def run_one(engine: Engine, db: str, row: Any, owner: str) -> jobs.Outcome:
    """Run a leased job and settle it; a job that raises is a failed run, never a crash."""
    done = threading.Event()
    keeper = threading.Thread(target=_keep_lease, args=(engine, row.name, owner, done), daemon=True)
    keeper.start()
    try:
        outcome = jobs.run(row.job, engine, db, json.loads(row.args))
    except Exception as exc:
        outcome = jobs.Outcome(False, f"{type(exc).__name__}: {exc}"[:1000])
    finally:
        done.set()
        keeper.join()
    finished = time.time()
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        conn.execute(
            update(sj)
            .where(sj.c.name == row.name, sj.c.lease_owner == owner)
            .values(
                next_at=timing.next_after(timing.When(row.every_s, row.cron), finished),
                lease_owner="",
                lease_until=0.0,
                runs=sj.c.runs + 1,
                last_finished=utc_now(),
                last_ok=int(outcome.ok),
                last_result=outcome.summary[:2000],
            )
        )
    return outcome


def run_due(
    engine: Engine, db: str | None = None, *, owner: str | None = None, now: float | None = None
) -> dict[str, jobs.Outcome]:
    """Run every job that is due and free, once each; what ran and how it went."""
    owner = owner or owner_id()
    now = time.time() if now is None else now
    db = db or engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        due = conn.execute(select(sj).where(sj.c.next_at <= now).order_by(sj.c.next_at)).all()
    ran = {}
    for row in due:
        if take(engine, row.name, owner, now):
            ran[row.name] = run_one(engine, db, row, owner)
    return ran


def start(db: str | None) -> threading.Event:
    """The scheduler inside `serve`: a daemon thread; set the returned event to stop it."""
    from fapiao.ledger.db import open_engine
    from fapiao.telemetry import logs

    log = logs.logger()
    stop = threading.Event()

    def loop() -> None:
        engine = open_engine(db)
        owner = owner_id()
        try:
            while not stop.wait(TICK_S):
                try:
                    for name, outcome in run_due(engine, owner=owner).items():
                        (log.info if outcome.ok else log.warning)(
                            "schedule.ran", schedule=name, ok=outcome.ok, result=outcome.summary
                        )
                except Exception as exc:  # the scheduler must never take the server down
                    log.error("schedule.crashed", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            engine.dispose()

    threading.Thread(target=loop, name="fapiao-schedule", daemon=True).start()
    return stop
