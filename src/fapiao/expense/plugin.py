"""入账 and 报销 declared as a capability: its tables, migration, commands, invoice-page block."""

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="expense",
    zh="入账与报销",
    en="Booking and reimbursement",
    requires=("ledger", "ops"),
    tables=("fapiao.expense.tables",),
    migrations="fapiao.expense.migrations",
    cli=("fapiao.expense.cli",),
    pages=("fapiao.expense.pages",),
    nav=(NavEntry("/expense", "入账报销", "Booked / claimed", permission="read", order=43),),
    checks=("fapiao.expense.checks",),
    findings=("fapiao.expense.findings",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
