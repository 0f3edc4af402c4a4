"""Operations: the self-check, notices, repair tickets (报修), the status page, /metrics.

Its checks and metrics modules (`fapiao.ops.checks`, `fapiao.ops.metrics`) are the generic ones and
the frame the other capabilities' `checks`/`metrics` plug into. Requires auth (tickets name users)
and contingency (tickets and the status page show incidents)."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="ops",
    zh="运维",
    en="Operations",
    requires=("auth", "contingency"),
    tables=("fapiao.ops.tables",),
    migrations="fapiao.ops.migrations",
    cli=("fapiao.ops.cli",),
    commands=("check", "notice", "ticket"),
    pages=("fapiao.ops.pages",),
    nav=(
        NavEntry("/status", "运行状态", "Status", order=85),
        NavEntry("/tickets", "报修", "Support", order=86),
    ),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
