"""Deduction (勾选 / 用途确认) declared as a capability: its tables, migration, commands, page; and
the ledger's side of the 勾选 that reconcile compares with the platform's (`deduction_selections`)."""

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="deduct",
    zh="勾选抵扣",
    en="Deduction (勾选)",
    # reads the 查验 results (fapiao.insight.tables) until insight is declared as a capability
    requires=("ledger", "insight", "ops"),
    tables=("fapiao.deduct.tables",),
    migrations="fapiao.deduct.migrations",
    cli=("fapiao.deduct.cli",),
    pages=("fapiao.deduct.pages",),
    nav=(NavEntry("/deduct", "勾选抵扣", "Deduction", permission="read", order=42),),
    checks=("fapiao.deduct.checks",),
    findings=("fapiao.deduct.findings",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def deduction_selections(engine: Any, tenant_id: int, keys: list[str]) -> dict[str, Any]:
    from fapiao.deduct.service import selections_by_key

    return selections_by_key(engine, tenant_id, keys)
