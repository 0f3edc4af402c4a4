"""红字确认单 declared as a capability: its table, migration, commands, pages and finding codes."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="red",
    zh="红字确认单",
    en="Red-letter requests",
    # issues through the outbox (fapiao.sync) until sync is declared as a capability
    requires=("ledger", "ops", "sync"),
    tables=("fapiao.red.tables",),
    migrations="fapiao.red.migrations",
    cli=("fapiao.red.cli",),
    pages=("fapiao.red.pages",),
    nav=(NavEntry("/red", "红字确认单", "Red requests", permission="read", order=44),),
    checks=("fapiao.red.checks",),
    findings=("fapiao.red.findings",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
