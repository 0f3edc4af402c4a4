"""Voucher export declared as a capability: its mapping table, migration and commands."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="voucher",
    zh="记账凭证导出",
    en="Voucher export",
    # the 勾选 state decides whether 进项税额 is its own line; categories come from fapiao.insight
    requires=("ledger", "deduct", "insight"),
    tables=("fapiao.voucher.tables",),
    migrations="fapiao.voucher.migrations",
    cli=("fapiao.voucher.cli",),
    commands=("voucher",),
    findings=("fapiao.voucher.findings",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
