"""The work list of reconcile actions as people read it: open actions grouped by category, the
amount at risk (the sum of 价税合计) per group, and the dashboard's two figures — how many invoices
the platform lacks and how many we lack, with their amounts.

Framework-free: the `/actions` page, the API and the dashboard card read it; `fapiao actions list`
reads the same rows (`remedies.list_actions`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from fapiao.money import format_fen, parse_yuan
from fapiao.reconcile import remedies
from fapiao.reconcile.engine import CATEGORIES
from fapiao.reconcile.schema import reconcile_actions as act

# how a person names each category, and the remedies a category's actions usually take
TITLES = {
    "missing_at_authority": ("平台缺失", "missing at the platform"),
    "missing_in_ledger": ("我方缺失", "missing in our ledger"),
    "mismatched": ("信息不一致", "fields differ"),
    "status_mismatch": ("状态不一致", "status differs"),
    "duplicates_at_authority": ("平台重复", "listed twice by the platform"),
    "deduction_mismatch": ("勾选不一致", "deduction selection differs"),
}
STATE_WORDS = {
    "open": ("待处理", "open"),
    "in_progress": ("处理中", "in progress"),
    "pending_approval": ("待复核", "awaiting a second person"),
    "resolved": ("已解决", "resolved"),
    "waived": ("已免除", "waived"),
}
FILTER_STATES = ("active", *remedies.STATES, "all")


def amount_fen(action: dict[str, Any]) -> int:
    """The action's 价税合计 in fen, from its finding ("" or unreadable: 0)."""
    try:
        return parse_yuan(str(action["detail"].get("total") or "0"))
    except (ValueError, ArithmeticError):
        return 0


@dataclass(slots=True)
class Group:
    category: str
    actions: list[dict[str, Any]] = field(default_factory=list)
    total_fen: int = 0

    @property
    def total(self) -> str:
        return format_fen(self.total_fen)


def actions(
    engine: Engine,
    tenants: Collection[int] | None,
    *,
    tenant_id: int | None = None,
    state: str = "active",
    category: str | None = None,
) -> list[dict[str, Any]]:
    """The actions `fapiao actions list --json` lists, within the granted `tenants` (None: all)."""
    wanted = None if state in ("active", "all") else state
    rows = remedies.list_actions(engine, tenant_id=tenant_id, state=wanted, category=category)
    if state == "active":
        rows = [r for r in rows if r["state"] in remedies.ACTIVE]
    if tenants is not None:
        rows = [r for r in rows if r["tenant_id"] in tenants]
    return rows


def grouped(rows: Iterable[dict[str, Any]]) -> list[Group]:
    """Per category in the reconcile report's order, each with its amount at risk."""
    groups = {c: Group(c) for c in CATEGORIES}
    for r in rows:
        g = groups.setdefault(r["category"], Group(r["category"]))
        g.actions.append(r)
        g.total_fen += amount_fen(r)
    return [g for g in groups.values() if g.actions]


def lacking(engine: Engine, tenants: Collection[int] | None) -> dict[str, dict[str, Any]]:
    """The dashboard's first card: active actions the platform lacks and we lack, count and sum."""
    out = {c: {"count": 0, "total_fen": 0} for c in ("missing_at_authority", "missing_in_ledger")}
    query = select(act.c.tenant_id, act.c.category, act.c.detail).where(
        act.c.state.in_(remedies.ACTIVE), act.c.category.in_(sorted(out))
    )
    if tenants is not None:
        query = query.where(act.c.tenant_id.in_(sorted(tenants)))
    with engine.connect() as conn:
        for row in conn.execute(query):
            slot = out[row.category]
            slot["count"] += 1
            slot["total_fen"] += amount_fen({"detail": json.loads(row.detail)})
    for slot in out.values():
        slot["total"] = format_fen(slot["total_fen"])
    return out
