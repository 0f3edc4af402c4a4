"""Schedules, declared: the table, the commands, the page, and the thread `serve` starts."""

from __future__ import annotations

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="schedule",
    zh="定时任务",
    en="Schedules",
    # each job runs the library call its command makes
    requires=("authority", "backup", "contingency", "insight", "ops", "reconcile"),
    tables=("fapiao.schedule.tables",),
    migrations="fapiao.schedule.migrations",
    cli=("fapiao.schedule.cli",),
    commands=("schedule",),
    checks=("fapiao.schedule.checks",),
    metrics=("fapiao.schedule.metrics",),
    pages=("fapiao.schedule.pages",),
    nav=(NavEntry("/schedule", "定时任务", "Schedules", "admin", order=88),),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def serve_started(db: str | None) -> None:
    from fapiao.schedule import runner

    runner.start(db)
