"""The derived tables `insight_invoices` and `insight_lines`, kept up to date from the event log.

Every change to an invoice is an event (entity `invoice`), so the invoices touched since the last
refresh are the entity ids of the events after the recorded sequence number; only those are read
again. The first refresh reads every invoice. Categories are applied here (see `categories`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from fapiao.insight.categories import OTHER, Classifier, classifiers
from fapiao.insight.tables import category_overrides as ovr_t
from fapiao.insight.tables import category_rules as rule_t
from fapiao.insight.tables import insight_invoices as ii
from fapiao.insight.tables import insight_lines as il
from fapiao.insight.tables import insight_state as st
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx

inv = schema.invoices
li = schema.line_items
BATCH = 20_000

INVOICE_COLUMNS = (
    inv.c.id,
    inv.c.tenant_id,
    inv.c.direction,
    inv.c.issue_date,
    inv.c.kind,
    inv.c.status,
    inv.c.authority_state,
    inv.c.seller_tax_id,
    inv.c.seller_name,
    inv.c.buyer_tax_id,
    inv.c.buyer_name,
    inv.c.amount,
    inv.c.tax,
    inv.c.total,
)


def refresh(ledger: Ledger) -> int:
    """Take in the changes since the last refresh; returns how many invoices were read again."""
    with ledger.engine.connect() as conn:
        seen = conn.scalar(select(st.c.seq).where(st.c.id == 1))
        head = conn.scalar(select(schema.ledger_head.c.seq).where(schema.ledger_head.c.id == 1))
    if seen is not None and head is not None and seen >= head:
        return 0
    with ledger.write() as tx:
        seen = tx.conn.scalar(select(st.c.seq).where(st.c.id == 1))
        head = tx.conn.scalar(select(schema.ledger_head.c.seq).where(schema.ledger_head.c.id == 1))
        if seen is None:
            count = rebuild(tx, None)
            tx.insert(st, [{"id": 1, "seq": head or 0}])
        else:
            ids = _touched(tx, seen)
            count = rebuild(tx, ids)
            tx.conn.execute(update(st).where(st.c.id == 1).values(seq=head or 0))
        if count:
            tx.event("insight.refreshed", "insight", "facts", {"invoices": count, "through": head})
    return count


def _touched(tx: WriteTx, seen: int) -> list[int]:
    ev = schema.events
    ids = {
        int(e)
        for e in tx.conn.scalars(
            select(ev.c.entity_id).where(ev.c.seq > seen, ev.c.entity == "invoice")
        )
        if e.isdigit()
    }
    return sorted(ids)


def reclassify_tenant(tx: WriteTx, tenant_id: int) -> int:
    ids = list(tx.conn.scalars(select(inv.c.id).where(inv.c.tenant_id == tenant_id)))
    return rebuild(tx, ids)


def apply_rule(tx: WriteTx, tenant_id: int, direction: str, cp: str) -> int:
    """Re-derive the counterparty's invoices after a rule changed; returns how many moved."""
    before = {
        r.invoice_id: r.category
        for r in tx.conn.execute(
            select(ii.c.invoice_id, ii.c.category).where(
                ii.c.tenant_id == tenant_id,
                ii.c.direction == direction,
                ii.c.counterparty_tax_id == cp,
                ii.c.category_source != "override",
            )
        )
    }
    rebuild(tx, sorted(before))
    after = dict(
        tx.conn.execute(
            select(ii.c.invoice_id, ii.c.category).where(
                ii.c.invoice_id.in_(sorted(before) or [-1])
            )
        ).all()
    )
    return sum(1 for k, v in before.items() if after.get(k) != v)


def rebuild(tx: WriteTx, ids: list[int] | None) -> int:
    """Derive the rows of the given invoices again (None: of every invoice)."""
    conn = tx.conn
    clf = classifiers(conn)
    rules = {
        (r.tenant_id, r.direction, r.counterparty_tax_id): r.category
        for r in conn.execute(select(rule_t))
    }
    count = 0
    for batch in _batches(tx, ids):
        if not batch:
            continue
        lo, hi = batch[0].id, batch[-1].id
        wanted = [r.id for r in batch]
        if ids is not None:
            for t in (il, ii):
                conn.execute(delete(t).where(t.c.invoice_id.in_(wanted)))
        overrides = dict(
            conn.execute(
                select(ovr_t.c.invoice_id, ovr_t.c.category).where(
                    ovr_t.c.invoice_id.between(lo, hi)
                )
            ).all()
        )
        lines: dict[int, list[Any]] = {}
        q = select(
            li.c.invoice_id,
            li.c.line_no,
            li.c.name,
            li.c.spec,
            li.c.tax_rate,
            li.c.amount,
            li.c.tax,
        )
        q = (
            q.where(li.c.invoice_id.between(lo, hi))
            if ids is None
            else q.where(li.c.invoice_id.in_(wanted))
        )
        for line in conn.execute(q):
            lines.setdefault(line.invoice_id, []).append(line)
        inv_rows, line_rows = _derive(batch, lines, clf, rules, overrides)
        if inv_rows:
            conn.execute(insert(ii), inv_rows)
        if line_rows:
            conn.execute(insert(il), line_rows)
        count += len(inv_rows)
    return count


def _batches(tx: WriteTx, ids: list[int] | None) -> Iterator[list[Any]]:
    if ids is not None:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            yield list(
                tx.conn.execute(
                    select(*INVOICE_COLUMNS).where(inv.c.id.in_(chunk)).order_by(inv.c.id)
                )
            )
        return
    tx.conn.execute(delete(il))
    tx.conn.execute(delete(ii))
    last = -1
    while True:
        rows = list(
            tx.conn.execute(
                select(*INVOICE_COLUMNS).where(inv.c.id > last).order_by(inv.c.id).limit(BATCH)
            )
        )
        if not rows:
            return
        last = rows[-1].id
        yield rows


def _month(day: Any) -> str:
    return day.isoformat()[:7] if isinstance(day, dt.date) else str(day)[:7]


def _derive(
    batch: Iterable[Any],
    lines: dict[int, list[Any]],
    clf: dict[int, Classifier],
    rules: dict[tuple[int, str, str], str],
    overrides: dict[int, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    inv_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    for r in batch:
        issued = r.direction == "issued"
        cp_id, cp_name = (
            (r.buyer_tax_id, r.buyer_name) if issued else (r.seller_tax_id, r.seller_name)
        )
        month = _month(r.issue_date)
        fixed, source = overrides.get(r.id), "override"
        if fixed is None:
            fixed, source = rules.get((r.tenant_id, r.direction, cp_id)), "rule"
        c = clf.get(r.tenant_id) or Classifier({})
        best, best_amount, how = OTHER, -1, "none"
        for line in lines.get(r.id, ()):
            cat, line_how = (fixed, source) if fixed else c.line(line.name, line.spec)
            if abs(line.amount) > best_amount:
                best, best_amount, how = cat, abs(line.amount), line_how
            line_rows.append(
                {
                    "invoice_id": r.id,
                    "line_no": line.line_no,
                    "tenant_id": r.tenant_id,
                    "direction": r.direction,
                    "month": month,
                    "category": cat,
                    "tax_rate": line.tax_rate,
                    "amount": line.amount,
                    "tax": line.tax,
                }
            )
        if fixed:
            best, how = fixed, source
        inv_rows.append(
            {
                "invoice_id": r.id,
                "tenant_id": r.tenant_id,
                "direction": r.direction,
                "month": month,
                "kind": r.kind,
                "status": r.status,
                "authority_state": r.authority_state,
                "category": best,
                "category_source": how,
                "counterparty_tax_id": cp_id,
                "counterparty_name": cp_name,
                "amount": r.amount,
                "tax": r.tax,
                "total": r.total,
            }
        )
    return inv_rows, line_rows


def categories_of(ledger: Ledger, invoice_ids: list[int]) -> dict[int, dict[str, Any]]:
    """invoice id -> {category, category_source, lines: {line_no: category}} (after a refresh)."""
    out: dict[int, dict[str, Any]] = {}
    with ledger.engine.connect() as conn:
        for start in range(0, len(invoice_ids), 500):
            chunk = invoice_ids[start : start + 500]
            for r in conn.execute(
                select(ii.c.invoice_id, ii.c.category, ii.c.category_source).where(
                    ii.c.invoice_id.in_(chunk)
                )
            ):
                out[r.invoice_id] = {
                    "category": r.category,
                    "category_source": r.category_source,
                    "lines": {},
                }
            for r in conn.execute(
                select(il.c.invoice_id, il.c.line_no, il.c.category).where(
                    il.c.invoice_id.in_(chunk)
                )
            ):
                if r.invoice_id in out:
                    out[r.invoice_id]["lines"][r.line_no] = r.category
    return out


def count(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ii)) or 0)
