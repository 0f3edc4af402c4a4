"""Reading the ledger: filtered listings (streamed, no default limit) and one invoice in full."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, and_, or_, select

from fapiao.ledger import schema

inv = schema.invoices


@dataclass(frozen=True, slots=True)
class Filters:
    """list filters; each None means 'any'."""

    tenant: str | None = None  # tenant id or tax ID
    period: str | None = None  # YYYY-MM or YYYY
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    direction: str | None = None
    counterparty: str | None = None  # tax ID or part of the name
    kind: str | None = None
    status: str | None = None
    authority_state: str | None = None


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """'2024-11' -> (2024-11-01, 2024-11-30); '2024' -> the whole year."""
    parts = period.split("-")
    year = int(parts[0])
    if len(parts) == 1:
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    month = int(parts[1])
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return start, end


def _where(f: Filters) -> list[Any]:
    conds: list[Any] = []
    if f.tenant:
        t = schema.tenants
        sub = select(t.c.id).where(or_(t.c.tax_id == f.tenant, t.c.id == _int_or(f.tenant, -1)))
        conds.append(inv.c.tenant_id.in_(sub))
    if f.period:
        start, end = period_bounds(f.period)
        conds.append(inv.c.issue_date.between(start, end))
    if f.date_from:
        conds.append(inv.c.issue_date >= f.date_from)
    if f.date_to:
        conds.append(inv.c.issue_date <= f.date_to)
    for column, value in (
        (inv.c.direction, f.direction),
        (inv.c.kind, f.kind),
        (inv.c.status, f.status),
        (inv.c.authority_state, f.authority_state),
    ):
        if value:
            conds.append(column == value)
    if f.counterparty:
        cp = f.counterparty
        like = f"%{cp}%"
        issued = and_(
            inv.c.direction == "issued",
            or_(inv.c.buyer_tax_id == cp, inv.c.buyer_name.like(like)),
        )
        received = and_(
            inv.c.direction == "received",
            or_(inv.c.seller_tax_id == cp, inv.c.seller_name.like(like)),
        )
        conds.append(or_(issued, received))
    return conds


def _int_or(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default


def select_invoices(f: Filters) -> Select[Any]:
    return (
        select(
            inv.c.id,
            inv.c.tenant_id,
            inv.c.direction,
            inv.c.source,
            inv.c.authority_state,
            inv.c.doc,
        )
        .where(*_where(f))
        .order_by(inv.c.issue_date, inv.c.id)
    )


def list_invoices(engine: Engine, f: Filters) -> Iterator[dict[str, Any]]:
    """Every matching invoice as canonical JSON plus id, direction, source, authority_state."""
    with engine.connect() as conn:
        for row in conn.execution_options(yield_per=2000).execute(select_invoices(f)):
            yield _public(row)


def _public(row: Any) -> dict[str, Any]:
    doc = json.loads(row.doc)
    doc.update(
        id=str(row.id),
        direction=row.direction,
        source=row.source,
        authority_state=row.authority_state,
    )
    return doc


def find_invoice(engine: Engine, ref: str) -> dict[str, Any] | None:
    """By id, number, or code-number; with findings, conflicts, original file and events."""
    with engine.connect() as conn:
        cond = inv.c.identity_key == ref
        if ref.isdigit() and len(ref) < 16:
            cond = or_(inv.c.id == int(ref), cond)
        row = conn.execute(select(inv).where(cond).order_by(inv.c.id).limit(1)).first()
        if row is None:
            return None
        out = _public(row)
        out["tenant_id"] = row.tenant_id
        out["original_file"] = {"name": row.original_name, "sha256": row.original_sha256}
        f_t = schema.invoice_findings
        out["findings"] = [
            {k: r._mapping[k] for k in ("code", "field", "severity", "message", "message_en")}
            for r in conn.execute(select(f_t).where(f_t.c.invoice_id == row.id))
        ]
        c_t = schema.conflicts
        out["conflicts"] = [
            {"file": r.file_name, "fields": json.loads(r.fields), "at": r.created_at}
            for r in conn.execute(select(c_t).where(c_t.c.invoice_id == row.id))
        ]
        ev = schema.events
        out["events"] = [
            {"seq": r.seq, "at": r.ts, "actor": r.actor, "action": r.action}
            for r in conn.execute(
                select(ev.c.seq, ev.c.ts, ev.c.actor, ev.c.action)
                .where(ev.c.entity == "invoice", ev.c.entity_id == str(row.id))
                .order_by(ev.c.seq)
            )
        ]
        return out


def original_bytes(engine: Engine, sha256: str) -> bytes | None:
    with engine.connect() as conn:
        return conn.scalar(select(schema.blobs.c.data).where(schema.blobs.c.sha256 == sha256))


def counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func

    with engine.connect() as conn:
        out = {}
        for name, table in (
            ("invoices", inv),
            ("quarantine", schema.quarantine),
            ("conflicts", schema.conflicts),
            ("events", schema.events),
            ("tenants", schema.tenants),
        ):
            out[name] = conn.scalar(select(func.count()).select_from(table)) or 0
        return out
