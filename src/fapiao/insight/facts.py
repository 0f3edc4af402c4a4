"""The derived tables `insight_invoices` and `insight_lines`, kept up to date from the event log.

Every change to an invoice is an event (entity `invoice`), so the invoices touched since the last
refresh are the entity ids of the events after the recorded sequence number; only those are read
again. The first refresh reads every invoice. Categories are applied here (see `categories`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import delete, func, select, update

from fapiao.insight.classify import OTHER, Classifier, classifiers
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
NO_RATE = ""  # the rate of an invoice without line items, in `insight_lines` (line 0)


def refresh(ledger: Ledger) -> int:
    """Take in the changes since the last refresh; returns how many invoices were read again."""
    with ledger.engine.connect() as conn:
        seen = conn.scalar(select(st.c.seq).where(st.c.id == 1))
        head = conn.scalar(select(schema.ledger_head.c.seq).where(schema.ledger_head.c.id == 1))
    if seen is not None and head is not None and seen >= head:
        return 0
    # derived data, not a person's change: recorded under the system's own name
    with Ledger(ledger.engine, actor="insight").write() as tx:
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


INVOICE_SQL = (
    "SELECT id, tenant_id, direction, issue_date, kind, status, authority_state, seller_tax_id, "
    "seller_name, buyer_tax_id, buyer_name, amount, tax, total FROM invoices"
)
LINE_SQL = "SELECT invoice_id, line_no, name, spec, tax_rate, amount, tax FROM line_items"
II_NAMES = tuple(c.name for c in ii.columns)
IL_NAMES = tuple(c.name for c in il.columns)


def rebuild(tx: WriteTx, ids: list[int] | None) -> int:
    """Derive the rows of the given invoices again (None: of every invoice).

    Reads and writes go through the driver with plain tuples: at a million invoices the ORM-level
    parameter handling would cost more than the database does."""
    conn = tx.conn
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    clf = classifiers(conn)
    rules = {
        (r.tenant_id, r.direction, r.counterparty_tax_id): r.category
        for r in conn.execute(select(rule_t))
    }
    count = 0
    indexes = [*ii.indexes, *il.indexes] if ids is None else []
    for ix in indexes:  # a full build sorts each index once instead of inserting at random
        ix.drop(conn)
    for batch in _batches(tx, ids, mark):
        if not batch:
            continue
        lo, hi = batch[0][0], batch[-1][0]
        wanted = [r[0] for r in batch]
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
        if ids is None:
            found = conn.exec_driver_sql(
                f"{LINE_SQL} WHERE invoice_id BETWEEN {mark} AND {mark}", (lo, hi)
            )
        else:
            marks = ", ".join([mark] * len(wanted))
            found = conn.exec_driver_sql(f"{LINE_SQL} WHERE invoice_id IN ({marks})", tuple(wanted))
        for line in found.fetchall():
            lines.setdefault(line[0], []).append(line)
        inv_rows, line_rows = _derive(batch, lines, clf, rules, overrides)
        _insert(conn, "insight_invoices", II_NAMES, inv_rows, mark)
        _insert(conn, "insight_lines", IL_NAMES, line_rows, mark)
        count += len(inv_rows)
    for ix in indexes:
        ix.create(conn)
    return count


def _insert(
    conn: Any, table: str, names: tuple[str, ...], rows: list[tuple[Any, ...]], mark: str
) -> None:
    if rows:
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        conn.exec_driver_sql(sql, rows)


def _batches(tx: WriteTx, ids: list[int] | None, mark: str) -> Iterator[list[Any]]:
    if ids is not None:
        for start in range(0, len(ids), 500):
            chunk = tuple(ids[start : start + 500])
            marks = ", ".join([mark] * len(chunk))
            yield tx.conn.exec_driver_sql(
                f"{INVOICE_SQL} WHERE id IN ({marks}) ORDER BY id", chunk
            ).fetchall()
        return
    tx.conn.execute(delete(il))
    tx.conn.execute(delete(ii))
    last = -1
    while True:
        rows = tx.conn.exec_driver_sql(
            f"{INVOICE_SQL} WHERE id > {mark} ORDER BY id LIMIT {BATCH}", (last,)
        ).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def _month(day: Any) -> str:
    return day.isoformat()[:7] if isinstance(day, dt.date) else str(day)[:7]


def _derive(
    batch: Iterable[Any],
    lines: dict[int, list[Any]],
    clf: dict[int, Classifier],
    rules: dict[tuple[int, str, str], str],
    overrides: dict[int, str],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows in the column order of `insight_invoices` and `insight_lines`."""
    inv_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    empty = Classifier({})
    for (
        inv_id,
        tenant_id,
        direction,
        day,
        kind,
        status,
        state,
        s_id,
        s_name,
        b_id,
        b_name,
        amount,
        tax,
        total,
    ) in batch:
        cp_id, cp_name = (b_id, b_name) if direction == "issued" else (s_id, s_name)
        month = _month(day)
        fixed, source = overrides.get(inv_id), "override"
        if fixed is None:
            fixed, source = rules.get((tenant_id, direction, cp_id)), "rule"
        c = clf.get(tenant_id) or empty
        best, best_amount, how = OTHER, -1, "none"
        for _i, line_no, name, spec, rate, l_amount, l_tax in lines.get(inv_id, ()):
            cat, line_how = (fixed, source) if fixed else c.line(name, spec)
            if abs(l_amount) > best_amount:
                best, best_amount, how = cat, abs(l_amount), line_how
            line_rows.append(
                (inv_id, line_no, tenant_id, direction, month, cat, rate, l_amount, l_tax)
            )
        if fixed:
            best, how = fixed, source
        if inv_id not in lines:  # no line items (the platform's head of it, a paper entry): the
            # invoice stands as one line of no known rate, so the amounts per category and per rate
            # add up to the totals
            line_rows.append((inv_id, 0, tenant_id, direction, month, best, NO_RATE, amount, tax))
        inv_rows.append(
            (
                inv_id,
                tenant_id,
                direction,
                month,
                kind,
                status,
                state,
                best,
                how,
                cp_id,
                cp_name,
                amount,
                tax,
                total,
            )
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
                if r.invoice_id in out and r.line_no:  # (line 0: an invoice without lines)
                    out[r.invoice_id]["lines"][r.line_no] = r.category
    return out


def count(ledger: Ledger) -> int:
    with ledger.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(ii)) or 0)
