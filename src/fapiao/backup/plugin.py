"""Backups, restores and restore drills, with their checks and readings.

Requires ops: its checks are `fapiao.ops.checks.Check`s (the self-check's frame)."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="backup",
    zh="备份与恢复",
    en="Backup and restore",
    requires=("ops",),
    tables=("fapiao.backup.tables",),
    migrations="fapiao.backup.migrations",
    cli=("fapiao.backup.cli",),
    commands=("backup", "drill"),
    pages=("fapiao.backup.pages",),
    api=("fapiao.backup.api",),
    nav=(NavEntry("/backups", "备份", "Backups", order=85),),
    checks=("fapiao.backup.checks",),
    metrics=("fapiao.backup.metrics",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
