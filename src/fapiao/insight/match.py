"""Cross-tenant matching: when the ledger keeps the books of both the seller and the buyer of an
invoice, the seller's `issued` record and the buyer's `received` record must agree.

Differences are reported in reconcile's vocabulary, with its remedies: the invoice missing on one
side (`missing_received`: the buyer's books lack it; `missing_issued`: the seller's books lack it),
`mismatched` fields (date, amounts, parties, kind) and `status_mismatch` (normal / red / void).
`record` attaches a finding to each record concerned (`counterpart_missing`, `counterpart_differs`)
and removes those that no longer hold, each change an event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, and_, delete, select

from fapiao.findings import Finding, finding
from fapiao.ledger import schema
from fapiao.ledger.queries import period_bounds
from fapiao.ledger.store import Ledger, detail_hash_now
from fapiao.money import format_fen
from fapiao.reconcile.remedies import ALLOWED, REMEDIES

inv = schema.invoices
CATEGORIES = ("missing_received", "missing_issued", "mismatched", "status_mismatch")
# the reconcile category whose remedies apply, seen from the tenant that must act
AS_RECONCILE = {
    "missing_received": "missing_in_ledger",
    "missing_issued": "missing_in_ledger",
    "mismatched": "mismatched",
    "status_mismatch": "status_mismatch",
}
COMPARED = (
    ("issue_date", "issue_date"),
    ("kind", "kind"),
    ("amount", "amount"),
    ("tax", "tax"),
    ("total", "total"),
    ("seller.tax_id", "seller_tax_id"),
    ("buyer.tax_id", "buyer_tax_id"),
)
FINDING_CODES = ("counterpart_missing", "counterpart_differs")
MONEY = ("amount", "tax", "total")


@dataclass(slots=True)
class Entry:
    category: str
    code: str
    number: str
    issue_date: str
    seller: dict[str, Any]
    buyer: dict[str, Any]
    issued_id: int | None = None
    received_id: int | None = None
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    total: str = ""

    def to_json(self) -> dict[str, Any]:
        rc = AS_RECONCILE[self.category]
        out: dict[str, Any] = {
            "code": self.code,
            "number": self.number,
            "issue_date": self.issue_date,
            "total": self.total,
            "seller": self.seller,
            "buyer": self.buyer,
            "issued_id": str(self.issued_id) if self.issued_id else None,
            "received_id": str(self.received_id) if self.received_id else None,
            "remedies": [
                {"remedy": r, "zh": REMEDIES[r][0], "en": REMEDIES[r][1]} for r in ALLOWED[rc]
            ],
        }
        if self.fields:
            out["fields"] = self.fields
        return out


@dataclass(slots=True)
class Report:
    pairs: int = 0  # invoices between two tenants (either side present)
    matched: int = 0
    entries: dict[str, list[Entry]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})

    @property
    def differences(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "matched": self.matched,
            **{c: [e.to_json() for e in self.entries[c]] for c in CATEGORIES},
        }


def _value(name: str, v: Any) -> str:
    if name in MONEY:
        return format_fen(int(v))
    return v.isoformat() if isinstance(v, dt.date) else str(v)


def match(
    engine: Engine, *, tenant_ids: list[int] | None = None, period: str | None = None
) -> Report:
    """Compare both sides for every invoice between two tenants (optionally touching the given
    tenants, dated in the period on either side)."""
    with engine.connect() as conn:
        tenants = {r.tax_id: (r.id, r.name) for r in conn.execute(select(schema.tenants))}
        tax_ids = sorted(tenants)
        cols = [
            inv.c.id,
            inv.c.tenant_id,
            inv.c.identity_key,
            inv.c.code,
            inv.c.number,
            inv.c.issue_date,
            inv.c.kind,
            inv.c.seller_tax_id,
            inv.c.buyer_tax_id,
            inv.c.amount,
            inv.c.tax,
            inv.c.total,
            inv.c.status,
        ]
        issued = {
            r.identity_key: r
            for r in conn.execute(
                select(*cols).where(
                    inv.c.direction == "issued", inv.c.buyer_tax_id.in_(tax_ids or ["-"])
                )
            )
        }
        received = {
            r.identity_key: r
            for r in conn.execute(
                select(*cols).where(
                    inv.c.direction == "received", inv.c.seller_tax_id.in_(tax_ids or ["-"])
                )
            )
        }
    bounds = period_bounds(period) if period else None
    report = Report()
    for key in sorted(set(issued) | set(received)):
        a, b = issued.get(key), received.get(key)
        rows = [r for r in (a, b) if r is not None]
        if bounds and not any(_within(r.issue_date, bounds) for r in rows):
            continue
        if tenant_ids is not None:
            involved = {tenants.get(rows[0].seller_tax_id, (None,))[0]} | {
                tenants.get(rows[0].buyer_tax_id, (None,))[0]
            }
            if not involved & set(tenant_ids):
                continue
        first = rows[0]
        report.pairs += 1
        entry = Entry(
            "",
            first.code,
            first.number,
            _value("issue_date", first.issue_date),
            _party(tenants, first.seller_tax_id),
            _party(tenants, first.buyer_tax_id),
            a.id if a is not None else None,
            b.id if b is not None else None,
            total=format_fen(first.total),
        )
        if b is None:
            entry.category = "missing_received"
        elif a is None:
            entry.category = "missing_issued"
        else:
            diff = {
                name: {
                    "issued": _value(name, getattr(a, col)),
                    "received": _value(name, getattr(b, col)),
                }
                for name, col in COMPARED
                if getattr(a, col) != getattr(b, col)
                and str(getattr(a, col)) != str(getattr(b, col))
            }
            if diff:
                entry.category, entry.fields = "mismatched", diff
            elif a.status != b.status:
                entry.category = "status_mismatch"
                entry.fields = {"status": {"issued": a.status, "received": b.status}}
            else:
                report.matched += 1
                continue
        report.entries[entry.category].append(entry)
    return report


def _within(day: Any, bounds: tuple[dt.date, dt.date]) -> bool:
    d = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
    return bounds[0] <= d <= bounds[1]


def _party(tenants: dict[str, tuple[int, str]], tax_id: str) -> dict[str, Any]:
    tid, name = tenants.get(tax_id, (None, ""))
    return {"tenant_id": tid, "tax_id": tax_id, "name": name}


def findings_for(report: Report) -> dict[int, list[Finding]]:
    """invoice id -> the findings the report puts on it."""
    out: dict[int, list[Finding]] = {}
    for e in (e for c in CATEGORIES for e in report.entries[c]):
        if e.category == "missing_received" and e.issued_id:
            other = f"{e.buyer['name']} {e.buyer['tax_id']}"
            out.setdefault(e.issued_id, []).append(
                finding("counterpart_missing", "number", other=other)
            )
        elif e.category == "missing_issued" and e.received_id:
            other = f"{e.seller['name']} {e.seller['tax_id']}"
            out.setdefault(e.received_id, []).append(
                finding("counterpart_missing", "number", other=other)
            )
        else:
            names = ", ".join(e.fields)
            for own, other in ((e.issued_id, e.buyer), (e.received_id, e.seller)):
                if own:
                    out.setdefault(own, []).append(
                        finding(
                            "counterpart_differs",
                            names,
                            other=f"{other['name']} {other['tax_id']}",
                            fields=names,
                        )
                    )
    return out


def record(ledger: Ledger, report: Report) -> int:
    """Put the report's findings on the invoices, drop those that no longer hold; returns how many
    invoices changed. One event per invoice whose findings change."""
    f_t = schema.invoice_findings
    wanted = findings_for(report)
    changed = 0
    with ledger.write() as tx:
        current: dict[int, set[tuple[str, str]]] = {}
        for r in tx.conn.execute(
            select(f_t.c.invoice_id, f_t.c.code, f_t.c.message_en).where(
                f_t.c.code.in_(FINDING_CODES)
            )
        ):
            current.setdefault(r.invoice_id, set()).add((r.code, r.message_en))
        tenants = dict(
            tx.conn.execute(
                select(inv.c.id, inv.c.tenant_id).where(
                    inv.c.id.in_(sorted(set(wanted) | set(current)) or [-1])
                )
            ).all()
        )
        for invoice_id in sorted(set(wanted) | set(current)):
            new = wanted.get(invoice_id, [])
            if {(f.code, f.message_en) for f in new} == current.get(invoice_id, set()):
                continue
            changed += 1
            tx.conn.execute(
                delete(f_t).where(
                    and_(f_t.c.invoice_id == invoice_id, f_t.c.code.in_(FINDING_CODES))
                )
            )
            tx.insert(
                f_t,
                [
                    {
                        "invoice_id": invoice_id,
                        "code": f.code,
                        "field": f.field,
                        "severity": f.severity.value,
                        "message": f.message,
                        "message_en": f.message_en,
                    }
                    for f in new
                ],
            )
            tx.event(
                "invoice.matched",
                "invoice",
                invoice_id,
                {
                    "findings": [f.to_json() for f in new],
                    "detail_hash": detail_hash_now(tx.conn, invoice_id),
                },
                tenant_id=tenants.get(invoice_id),
            )
    return changed
