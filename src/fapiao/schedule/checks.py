"""The self-check's view of schedules: a job whose last run failed, or one long past due (nothing
runs the schedules: no `serve`, no cron calling `fapiao schedule run`)."""

from __future__ import annotations

import time

from sqlalchemy import inspect, select

from fapiao.ops.checks import OK, SKIP, WARN, Check, Probe
from fapiao.schedule.tables import schedule_jobs as sj

OVERDUE_S = 600.0  # a job this long past its time is not being run


def check_schedule(probe: Probe) -> Check:
    if not probe.db_ok or probe.engine is None or not inspect(probe.engine).has_table(sj.name):
        return Check("schedule", SKIP, "not_checked", "未检查定时任务", "schedules not checked")
    now = time.time()
    with probe.engine.connect() as conn:
        rows = conn.execute(select(sj.c.name, sj.c.next_at, sj.c.last_ok, sj.c.lease_until)).all()
    failed = sorted(r.name for r in rows if r.last_ok == 0)
    overdue = sorted(r.name for r in rows if r.next_at < now - OVERDUE_S and r.lease_until <= now)
    data = {"schedules": len(rows), "failed": failed, "overdue": overdue}
    if overdue:
        names = ", ".join(overdue)
        return Check(
            "schedule",
            WARN,
            "schedule_overdue",
            f"定时任务逾期未运行：{names}（没有运行 fapiao serve 或 cron 的 fapiao schedule run？）",
            f"schedules overdue: {names} (is fapiao serve or cron's fapiao schedule run running?)",
            data,
        )
    if failed:
        names = ", ".join(failed)
        return Check(
            "schedule",
            WARN,
            "schedule_failed",
            f"定时任务上次运行失败：{names}",
            f"schedules whose last run failed: {names}",
            data,
        )
    return Check("schedule", OK, "ok", f"定时任务 {len(rows)} 个", f"{len(rows)} schedules", data)


CHECKS = {"schedule": check_schedule}
