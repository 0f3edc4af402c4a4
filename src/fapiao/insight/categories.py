"""Expense and revenue categories: from the 税收分类 short name (`*餐饮服务*餐费`) or the 19-digit
税收分类编码, through a category table each tenant can edit, with counterparty → category rules
learned from the accountant's corrections.

Precedence for an invoice: the accountant's own choice (override) › a counterparty rule › the
category of its largest line. A line's category: the longest matching code prefix › its short name
› `other` (`classify`). The defaults are tenant 0's table; a tenant's own rows replace or add to
them. Every change here derives the affected invoices again (`facts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.engine import Connection

from fapiao.findings import Refusal
from fapiao.insight import facts
from fapiao.insight.classify import Category, load_table
from fapiao.insight.tables import categories as cat_t
from fapiao.insight.tables import category_overrides as ovr_t
from fapiao.insight.tables import category_rules as rule_t
from fapiao.insight.tables import insight_invoices as ii
from fapiao.insight.tables import insight_lines as il
from fapiao.ledger.store import Ledger, WriteTx

LEARN_AFTER = 2  # agreeing corrections for one counterparty before a rule is learned


def table_for(engine: Engine, tenant_id: int) -> list[Category]:
    with engine.connect() as conn:
        return list(load_table(conn, tenant_id).values())


class CategoryError(Refusal, ValueError):
    """A category request that cannot be honoured (unknown category, bad code); zh and en."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(Refusal.said("bad_category", zh, en))

    def __str__(self) -> str:
        return self.en


CODE_OK = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def set_category(
    ledger: Ledger,
    tenant_id: int,
    cat: Category,
) -> None:
    """Add or change a category in the tenant's table; lines are classified again."""
    if not CODE_OK.match(cat.code):
        raise CategoryError(
            f"类别代码须为小写字母、数字、下划线：{cat.code!r}",
            f"a category code is lower-case letters, digits and _: {cat.code!r}",
        )
    bad = [p for p in cat.code_prefixes if not p.isdigit() or len(p) > 19]
    if bad or not cat.zh.strip():
        raise CategoryError(
            f"编码前缀须为数字，名称不可为空：{bad}",
            f"code prefixes are digits and the name is required: {bad}",
        )
    with ledger.write() as tx:
        row = {
            "tenant_id": tenant_id,
            "code": cat.code,
            "zh": cat.zh.strip(),
            "en": cat.en.strip() or cat.code,
            "short_names": json.dumps(
                [s.strip("* ") for s in cat.short_names if s.strip("* ")], ensure_ascii=False
            ),
            "code_prefixes": json.dumps(list(cat.code_prefixes)),
            "updated_at": tx.now,
        }
        tx.conn.execute(
            delete(cat_t).where(cat_t.c.tenant_id == tenant_id, cat_t.c.code == cat.code)
        )
        tx.insert(cat_t, [row])
        tx.event("category.set", "category", f"{tenant_id}:{cat.code}", row, tenant_id=tenant_id)
        facts.reclassify_tenant(tx, tenant_id)


def known(conn: Connection, tenant_id: int, code: str) -> bool:
    return code in load_table(conn, tenant_id)


# --- corrections and rules ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Correction:
    invoice_id: int
    category: str
    rule: dict[str, Any] | None  # the rule learned or confirmed by it, if any
    reclassified: int  # other invoices that the rule moved


def correct(ledger: Ledger, invoice_id: int, category: str) -> Correction:
    """The accountant sets an invoice's category; enough agreeing corrections for one counterparty
    make a rule, and the rule re-categorises that counterparty's other invoices."""
    facts.refresh(ledger)
    with ledger.write() as tx:
        inv = tx.conn.execute(select(ii).where(ii.c.invoice_id == invoice_id)).first()
        if inv is None:
            raise CategoryError(f"没有发票 {invoice_id}", f"no invoice {invoice_id}")
        if not known(tx.conn, inv.tenant_id, category):
            raise CategoryError(f"没有类别 {category}", f"no category {category}")
        tx.conn.execute(delete(ovr_t).where(ovr_t.c.invoice_id == invoice_id))
        tx.insert(
            ovr_t,
            [
                {
                    "invoice_id": invoice_id,
                    "tenant_id": inv.tenant_id,
                    "category": category,
                    "updated_at": tx.now,
                }
            ],
        )
        tx.event(
            "category.corrected",
            "invoice",
            invoice_id,
            {"category": category, "was": inv.category, "source_was": inv.category_source},
            tenant_id=inv.tenant_id,
        )
        _set_invoice_category(tx, [invoice_id], category, "override")
        rule = _learn(tx, inv.tenant_id, inv.direction, inv.counterparty_tax_id)
        moved = 0
        if rule is not None:
            moved = facts.apply_rule(tx, inv.tenant_id, inv.direction, inv.counterparty_tax_id)
    return Correction(invoice_id, category, rule, moved)


def _learn(tx: WriteTx, tenant_id: int, direction: str, cp: str) -> dict[str, Any] | None:
    if not cp:
        return None
    votes: dict[str, int] = {}
    q = (
        select(ovr_t.c.category)
        .select_from(ovr_t.join(ii, ii.c.invoice_id == ovr_t.c.invoice_id))
        .where(ii.c.tenant_id == tenant_id, ii.c.direction == direction)
        .where(ii.c.counterparty_tax_id == cp)
    )
    for c in tx.conn.scalars(q):
        votes[c] = votes.get(c, 0) + 1
    best, count = max(votes.items(), key=lambda kv: (kv[1], kv[0]))
    current = tx.conn.execute(
        select(rule_t).where(
            rule_t.c.tenant_id == tenant_id,
            rule_t.c.counterparty_tax_id == cp,
            rule_t.c.direction == direction,
        )
    ).first()
    if current is not None and current.source == "manual":
        return None  # a rule set by hand is not overruled by learning
    if count < LEARN_AFTER or count * 2 <= sum(votes.values()):
        return None
    if current is not None and current.category == best and current.evidence == count:
        return None
    return _put_rule(tx, tenant_id, direction, cp, best, "learned", count)


def _put_rule(
    tx: WriteTx, tenant_id: int, direction: str, cp: str, category: str, source: str, evidence: int
) -> dict[str, Any]:
    tx.conn.execute(
        delete(rule_t).where(
            rule_t.c.tenant_id == tenant_id,
            rule_t.c.counterparty_tax_id == cp,
            rule_t.c.direction == direction,
        )
    )
    row = {
        "tenant_id": tenant_id,
        "counterparty_tax_id": cp,
        "direction": direction,
        "category": category,
        "source": source,
        "evidence": evidence,
        "updated_at": tx.now,
    }
    tx.insert(rule_t, [row])
    tx.event(
        "category.rule", "category_rule", f"{tenant_id}:{direction}:{cp}", row, tenant_id=tenant_id
    )
    return {
        k: row[k] for k in ("counterparty_tax_id", "direction", "category", "source", "evidence")
    }


def set_rule(
    ledger: Ledger, tenant_id: int, direction: str, cp: str, category: str
) -> tuple[dict[str, Any], int]:
    """A rule set by hand (wins over learning); returns it and how many invoices it moved."""
    if direction not in ("issued", "received"):
        raise CategoryError("方向须为 issued 或 received", "direction: issued or received")
    facts.refresh(ledger)
    with ledger.write() as tx:
        if not known(tx.conn, tenant_id, category):
            raise CategoryError(f"没有类别 {category}", f"no category {category}")
        rule = _put_rule(tx, tenant_id, direction, cp.strip().upper(), category, "manual", 0)
        moved = facts.apply_rule(tx, tenant_id, direction, cp.strip().upper())
    return rule, moved


def rules(engine: Engine, tenant_id: int | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        q = select(rule_t).order_by(rule_t.c.tenant_id, rule_t.c.counterparty_tax_id)
        if tenant_id is not None:
            q = q.where(rule_t.c.tenant_id == tenant_id)
        return [dict(r._mapping) for r in conn.execute(q)]


def _set_invoice_category(tx: WriteTx, ids: Iterable[int], category: str, source: str) -> None:
    ids = list(ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        tx.conn.execute(
            update(ii)
            .where(ii.c.invoice_id.in_(chunk))
            .values(category=category, category_source=source)
        )
        tx.conn.execute(update(il).where(il.c.invoice_id.in_(chunk)).values(category=category))
