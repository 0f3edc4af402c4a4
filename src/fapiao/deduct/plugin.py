"""Deduction (勾选 / 用途确认) declared as a capability: its tables, migration, commands, page;
the 勾选状态 every invoice listing can show and filter on; and the ledger's side of the 勾选 that
reconcile compares with the platform's (`deduction_selections`)."""

from typing import Any

from fapiao.capability import Capability, ListState, NavEntry, StateField, StateValue
from fapiao.hooks import hookimpl

_SELECTED = "EXISTS (SELECT 1 FROM deduct_selections xd WHERE xd.invoice_id = i.id)"

# received blue invoices can be selected (service.select_invoices); others have no 勾选 state
DEDUCTION = ListState(
    name="deduction",
    zh="勾选状态",
    en="Deduction",
    values=(
        StateValue(
            "selected",
            "已勾选",
            "selected",
            f"i.direction = 'received' AND {_SELECTED}",
            ids="SELECT xd.invoice_id FROM deduct_selections xd",
        ),
        StateValue(
            "unselected",
            "未勾选",
            "not selected",
            f"i.direction = 'received' AND i.status = 'normal' AND NOT {_SELECTED}",
        ),
    ),
    join=(
        "LEFT JOIN deduct_selections {a} ON {a}.invoice_id = i.id "
        "LEFT JOIN deduct_periods {a}p ON {a}p.tenant_id = {a}.tenant_id "
        "AND {a}p.period = {a}.period"
    ),
    fields=(
        StateField("period", "{a}.period", "勾选所属期", "period"),
        StateField(
            "purpose",
            "{a}.purpose",
            "用途",
            "purpose",
            words=(("deduct", "抵扣", "deduct"), ("no_deduct", "不抵扣", "not deducted")),
        ),
        StateField(
            "confirmed",
            "CASE WHEN {a}.invoice_id IS NULL THEN NULL WHEN {a}p.period IS NULL THEN 0 ELSE 1 END",
            "统计确认",
            "confirmed",
            kind="bool",
            words=(("true", "已确认", "confirmed"), ("false", "未确认", "not confirmed")),
        ),
        StateField("reason", "{a}.reason", "不抵扣原因", "reason", brief=False),
    ),
    order=10,
)

CAPABILITY = Capability(
    name="deduct",
    zh="勾选抵扣",
    en="Deduction (勾选)",
    # reads the 查验 results (fapiao.insight.tables) until insight is declared as a capability
    requires=("ledger", "insight", "ops"),
    tables=("fapiao.deduct.tables",),
    migrations="fapiao.deduct.migrations",
    cli=("fapiao.deduct.cli",),
    commands=("deduct",),
    pages=("fapiao.deduct.pages",),
    nav=(NavEntry("/deduct", "勾选抵扣", "Deduction", permission="read", order=42),),
    checks=("fapiao.deduct.checks",),
    findings=("fapiao.deduct.findings",),
    states=(DEDUCTION,),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def deduction_selections(engine: Any, tenant_id: int, keys: list[str]) -> dict[str, Any]:
    from fapiao.deduct.service import selections_by_key

    return selections_by_key(engine, tenant_id, keys)
