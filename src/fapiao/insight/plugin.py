"""Insight: 查验 (verification), categories, statistics, matching invoices to payments.

Requires authority (查验 asks the platform), reconcile (matching offers its remedies) and auth (the
pages name the user)."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="insight",
    zh="查验与统计",
    en="Verification and statistics",
    requires=("auth", "authority", "reconcile"),
    tables=("fapiao.insight.tables",),
    migrations="fapiao.insight.migrations",
    cli=("fapiao.insight.cli",),
    pages=("fapiao.insight.pages",),
    nav=(
        NavEntry("/insight/stats", "统计", "Statistics", order=40),
        NavEntry("/insight/match", "对票", "Matching", order=45),
    ),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
