"""Manual (paper) invoices: entered by hand while the platform is down, linked to their e-invoice
later.

An entry (a form, or CSV rows: one row per line item, rows with the same 发票代码+发票号码 make one
invoice) becomes a canonical invoice, is validated like any other (`fapiao.validate`), and is stored
through the ledger write path with source `manual` and authority state `local`: a hand-written
invoice is not uploaded; its electronic counterpart is. What was entered is kept as the original
(the form as JSON, or the CSV file). While an incident covering the tenant is open, the entry is
attached to it.

When an invoice appears with the same parties and total, dated within `WINDOW_DAYS` after the paper
one, a link is proposed (scored on date and line items); a person confirms or rejects it. A confirmed
link is recorded on the manual invoice and in the audit chain on both invoices.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao.codec import canonical_bytes, invoice_from_json, invoice_to_json
from fapiao.contingency.common import ContingencyError
from fapiao.contingency.incidents import _note, open_covering
from fapiao.contingency.tables import links, manual_invoices
from fapiao.findings import Finding, finding, has_errors
from fapiao.ledger import schema
from fapiao.ledger.imports import Incoming, _item_rows, _quarantine, _store_blobs, fingerprint
from fapiao.ledger.store import Ledger, WriteTx, detail_hash, row_hash
from fapiao.model import Direction, Invoice
from fapiao.validate import Context, validate

WINDOW_DAYS = 30  # the e-invoice is dated from 3 days before to this many days after the paper one
inv_t = schema.invoices

# CSV header -> field; Chinese headers as finance staff write them, and the English field names.
HEADERS = {
    "票种": "kind", "发票代码": "code", "发票号码": "number", "开票日期": "issue_date",
    "销售方名称": "seller_name", "销方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id", "销方识别号": "seller_tax_id",
    "购买方名称": "buyer_name", "购方名称": "buyer_name",
    "购买方纳税人识别号": "buyer_tax_id", "购方识别号": "buyer_tax_id",
    "金额": "amount", "税额": "tax", "价税合计": "total", "备注": "remarks", "开票人": "issuer",
    "部门": "department", "项目名称": "item_name", "规格型号": "item_spec", "单位": "item_unit",
    "数量": "item_quantity", "单价": "item_unit_price", "明细金额": "item_amount",
    "税率": "item_tax_rate", "明细税额": "item_tax", "校验码": "check_code",
}  # fmt: skip
FIELDS = sorted(set(HEADERS.values()))


@dataclass(slots=True)
class Entry:
    """One manual invoice as entered: the fields, where it came from, and what was wrong."""

    source: str  # "form" or the CSV file name with its row numbers
    fields: dict[str, Any]
    lines: list[dict[str, str]] = field(default_factory=list)
    invoice: Invoice | None = None
    findings: list[Finding] = field(default_factory=list)


def _doc(fields: dict[str, Any], lines: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "kind": fields.get("kind") or "vat_special",
        "code": fields.get("code", ""),
        "number": fields.get("number", ""),
        "issue_date": fields.get("issue_date", ""),
        "seller": {
            "name": fields.get("seller_name", ""),
            "tax_id": fields.get("seller_tax_id", ""),
        },
        "buyer": {"name": fields.get("buyer_name", ""), "tax_id": fields.get("buyer_tax_id", "")},
        "amount": fields.get("amount", ""),
        "tax": fields.get("tax", ""),
        "total": fields.get("total", ""),
        "check_code": fields.get("check_code", ""),
        "status": "normal",
        "original": None,
        "items": [
            {
                "name": ln.get("item_name", ""),
                "spec": ln.get("item_spec", ""),
                "unit": ln.get("item_unit", ""),
                "quantity": ln.get("item_quantity", ""),
                "unit_price": ln.get("item_unit_price", ""),
                "amount": ln.get("item_amount", ""),
                "tax_rate": ln.get("item_tax_rate", ""),
                "tax": ln.get("item_tax", ""),
            }
            for ln in lines
            if any(str(v).strip() for v in ln.values())
        ],
        "remarks": fields.get("remarks", ""),
        "issuer": fields.get("issuer", ""),
    }


def check_entry(entry: Entry, *, today: dt.date | None = None) -> Entry:
    """Build the invoice and validate it like any other; findings land on the entry."""
    for name in ("number", "issue_date", "seller_name", "seller_tax_id", "buyer_name", "total"):
        if not str(entry.fields.get(name, "")).strip():
            entry.findings.append(finding("field_missing", name))
    if not entry.lines:
        entry.findings.append(finding("field_missing", "items"))
    if has_errors(entry.findings):
        return entry
    invoice, problems = invoice_from_json(_doc(entry.fields, entry.lines))
    entry.findings.extend(problems)
    if invoice is not None:
        entry.invoice = invoice
        entry.findings.extend(validate(invoice, Context(today=today) if today else Context()))
    return entry


def from_form(form: dict[str, Any]) -> Entry:
    """A form: the invoice fields plus `items`, a list of line dicts (or the item_* fields once)."""
    fields = {k: str(v).strip() for k, v in form.items() if k != "items" and v is not None}
    raw_lines = form.get("items")
    if isinstance(raw_lines, list):
        lines = [
            {k: str(v).strip() for k, v in ln.items()} for ln in raw_lines if isinstance(ln, dict)
        ]
    else:
        lines = [{k: v for k, v in fields.items() if k.startswith("item_")}]
    return check_entry(Entry("form", fields, [ln for ln in lines if any(ln.values())]))


def from_csv(name: str, data: bytes) -> list[Entry]:
    """CSV (UTF-8 or GBK) with Chinese or English headers; one row per line item."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [
            Entry(
                name,
                {},
                findings=[finding("unreadable", detail=f"{name}: 编码无法识别 / unknown encoding")],
            )
        ]
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return [Entry(name, {}, findings=[finding("unreadable", detail=f"{name}: {exc}")])]
    if not rows:
        return [Entry(name, {}, findings=[finding("unreadable", detail=f"{name}: 空文件 / empty")])]
    header = [HEADERS.get(h.strip(), h.strip()) for h in rows[0]]
    if "number" not in header:
        return [Entry(name, {}, findings=[finding("field_missing", "发票号码 / number")])]
    groups: dict[tuple[str, str], Entry] = {}
    for n, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        values = {
            h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(header) if h in FIELDS
        }
        key = (values.get("code", ""), values.get("number", ""))
        entry = groups.get(key)
        if entry is None:
            head = {k: v for k, v in values.items() if not k.startswith("item_")}
            entry = groups[key] = Entry(f"{name}#{n}", head)
        entry.lines.append({k: v for k, v in values.items() if k.startswith("item_")})
    return [check_entry(e) for e in groups.values()]


# --- recording -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Recorded:
    source: str
    id: str = ""
    number: str = ""
    code: str = ""
    incident_id: int | None = None
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "code": self.code, "number": self.number}
        if self.id:
            out["id"] = self.id
            out["incident_id"] = self.incident_id
        if self.findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


def record(
    ledger: Ledger,
    tenant_id: int,
    entries: list[Entry],
    *,
    original: tuple[str, bytes] | None = None,
    incident_id: int | None = None,
) -> list[Recorded]:
    """Store valid entries as manual invoices of the tenant; quarantine the others with the input.

    `original`: the file the entries came from (a CSV); a form entry keeps its own JSON."""
    if incident_id is None:
        covering = open_covering(ledger.engine, tenant_id)
        incident_id = covering[0]["id"] if covering else None
    with ledger.engine.connect() as conn:
        tenant = conn.execute(select(schema.tenants).where(schema.tenants.c.id == tenant_id)).one()
    outcomes: list[Recorded] = []
    with ledger.write() as tx:
        for entry in entries:
            name, data = original or (
                f"manual:{entry.source}",
                json.dumps(
                    {"entered": entry.fields, "items": entry.lines},
                    ensure_ascii=False,
                    sort_keys=True,
                ).encode(),
            )
            incoming = Incoming(
                name,
                hashlib.sha256(data).hexdigest(),
                data,
                entry.invoice,
                entry.findings,
                source="manual",
                label=entry.source if original else "",  # the rows of one CSV file apart
            )
            _store_blobs(tx, [incoming])
            outcome = _record_one(tx, tenant, entry, incoming, incident_id)
            if not outcome.id:
                _quarantine(tx, incoming)
            outcomes.append(outcome)
    return outcomes


def _record_one(
    tx: WriteTx, tenant: Any, entry: Entry, incoming: Incoming, incident_id: int | None
) -> Recorded:
    inv = entry.invoice
    out = Recorded(entry.source, findings=list(entry.findings))
    out.code, out.number = str(entry.fields.get("code", "")), str(entry.fields.get("number", ""))
    if inv is None or has_errors(entry.findings):
        return out
    out.code, out.number = inv.code, inv.number
    if tenant.tax_id == inv.seller.tax_id:
        direction = Direction.ISSUED
    elif tenant.tax_id == inv.buyer.tax_id:
        direction = Direction.RECEIVED
    else:
        out.findings.append(
            finding("no_tenant", "seller.tax_id", seller=inv.seller.tax_id, buyer=inv.buyer.tax_id)
        )
        return out
    key = inv.identity.key
    same = tx.conn.execute(
        select(inv_t.c.id).where(inv_t.c.tenant_id == tenant.id, inv_t.c.identity_key == key)
    ).first()
    if same is not None:
        out.findings.append(
            finding("field_invalid", "number", detail=f"账簿中已有 {key} / already in the ledger")
        )
        return out
    fp = fingerprint(inv)
    near = tx.conn.scalar(
        select(inv_t.c.identity_key)
        .where(inv_t.c.tenant_id == tenant.id, inv_t.c.fingerprint == fp)
        .limit(1)
    )
    if near:
        out.findings.append(finding("near_duplicate", "number", other=near))
    doc = invoice_to_json(inv)
    data = canonical_bytes(doc)
    (inv_id,) = tx.new_ids(1)
    row = {
        "id": inv_id, "tenant_id": tenant.id, "identity_key": key, "direction": direction.value,
        "kind": inv.kind.value, "code": inv.code, "number": inv.number, "issue_date": inv.issue_date,
        "seller_tax_id": inv.seller.tax_id, "seller_name": inv.seller.name,
        "buyer_tax_id": inv.buyer.tax_id, "buyer_name": inv.buyer.name,
        "amount": inv.amount, "tax": inv.tax, "total": inv.total, "status": inv.status.value,
        "original_key": "", "source": "manual", "authority_state": "local",
        "content_hash": hashlib.sha256(data).hexdigest(), "fingerprint": fp, "doc": data.decode(),
        "original_sha256": incoming.sha256, "original_name": incoming.file[-400:],
        "created_at": tx.now, "updated_at": tx.now,
    }  # fmt: skip
    tx.insert(inv_t, [row])
    lines = _item_rows(inv_id, inv)
    notes = [
        {"invoice_id": inv_id, "code": f.code, "field": f.field, "severity": f.severity.value,
         "message": f.message, "message_en": f.message_en}
        for f in out.findings
    ]  # fmt: skip
    tx.insert(schema.line_items, lines)
    tx.insert(schema.invoice_findings, notes)
    department = str(entry.fields.get("department", ""))[:100]
    tx.insert(
        manual_invoices,
        [
            {
                "invoice_id": inv_id,
                "tenant_id": tenant.id,
                "incident_id": incident_id,
                "department": department,
                "linked_invoice_id": None,
                "created_at": tx.now,
            }
        ],
    )
    tx.event(
        "invoice.manual",
        "invoice",
        inv_id,
        {
            "row_hash": row_hash(row),
            "detail_hash": detail_hash(lines, notes),
            "doc": doc,
            "entered_from": entry.source,
            "incident_id": incident_id,
            "department": department,
            "findings": [f.to_json() for f in out.findings],
        },
        tenant_id=tenant.id,
    )
    if incident_id is not None:
        _note(tx, incident_id, "manual", f"手工录入纸质发票 {key} / paper invoice entered")
    out.id, out.incident_id = str(inv_id), incident_id
    return out


# --- links ---------------------------------------------------------------------------------------


def _lines(conn: Any, ids: list[int]) -> dict[int, Counter[tuple[str, int]]]:
    out: dict[int, Counter[tuple[str, int]]] = {i: Counter() for i in ids}
    li = schema.line_items
    for r in conn.execute(
        select(li.c.invoice_id, li.c.name, li.c.amount).where(li.c.invoice_id.in_(ids))
    ):
        out[r.invoice_id][(r.name.strip(), int(r.amount))] += 1
    return out


def _score(paper: Any, e: Any, lines: dict[int, Counter[tuple[str, int]]]) -> tuple[int, list[str]]:
    score, why = 60, ["parties", "total"]
    days = abs((e.issue_date - paper.issue_date).days)
    if days == 0:
        score, why = score + 20, [*why, "same_day"]
    elif days <= 7:
        score, why = score + 10, [*why, "within_week"]
    if lines[paper.id] and lines[paper.id] == lines[e.id]:
        score, why = score + 20, [*why, "items"]
    elif {n for n, _ in lines[paper.id]} == {n for n, _ in lines[e.id]}:
        score, why = score + 10, [*why, "item_names"]
    return score, why


def propose(ledger: Ledger, *, tenant_id: int | None = None) -> list[int]:
    """Record a proposal for each unlinked manual invoice and each invoice that may be its
    electronic counterpart; returns the ids of the new proposals."""
    mi = manual_invoices
    with ledger.engine.connect() as conn:
        stmt = (
            select(inv_t)
            .join(mi, mi.c.invoice_id == inv_t.c.id)
            .where(mi.c.linked_invoice_id.is_(None))
        )
        if tenant_id is not None:
            stmt = stmt.where(mi.c.tenant_id == tenant_id)
        papers = list(conn.execute(stmt))
        if not papers:
            return []
        taken = set(
            conn.scalars(select(mi.c.linked_invoice_id).where(mi.c.linked_invoice_id.is_not(None)))
        )
        known = {
            (r.manual_invoice_id, r.electronic_invoice_id)
            for r in conn.execute(select(links.c.manual_invoice_id, links.c.electronic_invoice_id))
        }
        found: list[tuple[Any, Any]] = []
        for p in papers:
            cands = conn.execute(
                select(inv_t).where(
                    inv_t.c.tenant_id == p.tenant_id,
                    inv_t.c.source != "manual",
                    inv_t.c.direction == p.direction,
                    inv_t.c.seller_tax_id == p.seller_tax_id,
                    inv_t.c.buyer_tax_id == p.buyer_tax_id,
                    inv_t.c.total == p.total,
                    inv_t.c.number != "",
                    inv_t.c.issue_date >= p.issue_date - dt.timedelta(days=3),
                    inv_t.c.issue_date <= p.issue_date + dt.timedelta(days=WINDOW_DAYS),
                )
            )
            found.extend((p, e) for e in cands if e.id not in taken and (p.id, e.id) not in known)
        lines = _lines(conn, sorted({x.id for pair in found for x in pair}))
    new: list[int] = []
    if not found:
        return new
    with ledger.write() as tx:
        for p, e in found:
            score, why = _score(p, e, lines)
            (lid,) = tx.new_ids(1)
            row = {
                "id": lid, "tenant_id": p.tenant_id, "manual_invoice_id": p.id,
                "electronic_invoice_id": e.id, "score": score, "reasons": json.dumps(why),
                "state": "proposed", "decided_by": "", "created_at": tx.now, "updated_at": tx.now,
            }  # fmt: skip
            tx.insert(links, [row])
            tx.event(
                "manual.link_proposed", "manual_link", lid,
                {"manual": p.identity_key, "electronic": e.identity_key, "score": score, "reasons": why},
                tenant_id=p.tenant_id,
            )  # fmt: skip
            new.append(lid)
    return new


def list_links(
    engine: Engine, *, state: str | None = "proposed", tenant_ids: frozenset[int] | None = None
) -> list[dict[str, Any]]:
    m = inv_t.alias("m")
    e = inv_t.alias("e")
    stmt = (
        select(
            links,
            m.c.identity_key.label("manual_key"),
            m.c.issue_date.label("manual_date"),
            e.c.identity_key.label("electronic_key"),
            e.c.issue_date.label("electronic_date"),
            e.c.kind.label("electronic_kind"),
            m.c.total,
            m.c.seller_name,
            m.c.buyer_name,
        )
        .join(m, m.c.id == links.c.manual_invoice_id)
        .join(e, e.c.id == links.c.electronic_invoice_id)
        .order_by(links.c.manual_invoice_id, links.c.score.desc(), links.c.id)
    )
    if state:
        stmt = stmt.where(links.c.state == state)
    if tenant_ids is not None:
        stmt = stmt.where(links.c.tenant_id.in_(list(tenant_ids)))
    with engine.connect() as conn:
        out = []
        for r in conn.execute(stmt):
            d = dict(r._mapping)
            d["reasons"] = json.loads(d["reasons"])
            d["manual_date"] = d["manual_date"].isoformat()
            d["electronic_date"] = d["electronic_date"].isoformat()
            out.append(d)
        return out


def list_manual(
    engine: Engine, *, tenant_ids: frozenset[int] | None = None
) -> list[dict[str, Any]]:
    mi = manual_invoices
    e = inv_t.alias("e")
    stmt = (
        select(
            inv_t.c.id, inv_t.c.tenant_id, inv_t.c.identity_key, inv_t.c.kind, inv_t.c.direction,
            inv_t.c.issue_date, inv_t.c.seller_name, inv_t.c.buyer_name, inv_t.c.total,
            mi.c.incident_id, mi.c.department, e.c.identity_key.label("linked"),
        )
        .select_from(inv_t.join(mi, mi.c.invoice_id == inv_t.c.id).outerjoin(e, e.c.id == mi.c.linked_invoice_id))
        .order_by(inv_t.c.issue_date, inv_t.c.id)
    )  # fmt: skip
    if tenant_ids is not None:
        stmt = stmt.where(mi.c.tenant_id.in_(list(tenant_ids)))
    with engine.connect() as conn:
        return [
            {**dict(r._mapping), "issue_date": r.issue_date.isoformat(), "linked": r.linked or ""}
            for r in conn.execute(stmt)
        ]


def _link_row(tx: WriteTx, link_id: int) -> Any:
    row = tx.conn.execute(select(links).where(links.c.id == link_id)).first()
    if row is None:
        raise ContingencyError(
            f"找不到关联建议 {link_id}", f"no link proposal {link_id}", code="not_found"
        )
    if row.state != "proposed":
        raise ContingencyError(
            f"关联建议已{row.state}", f"the proposal is already {row.state}", code="state"
        )
    return row


def decide(
    ledger: Ledger, link_id: int, *, confirm: bool, tenant_ids: frozenset[int] | None = None
) -> None:
    """Confirm (the pair is kept together) or reject a proposal."""
    with ledger.write() as tx:
        row = _link_row(tx, link_id)
        if tenant_ids is not None and row.tenant_id not in tenant_ids:
            raise ContingencyError(
                f"找不到关联建议 {link_id}", f"no link proposal {link_id}", code="not_found"
            )
        if not confirm:
            tx.conn.execute(
                update(links)
                .where(links.c.id == link_id)
                .values(state="rejected", decided_by=tx.actor, updated_at=tx.now)
            )
            tx.event("manual.link_rejected", "manual_link", link_id, {"manual_invoice_id": row.manual_invoice_id,
                     "electronic_invoice_id": row.electronic_invoice_id}, tenant_id=row.tenant_id)  # fmt: skip
            return
        mid, eid = row.manual_invoice_id, row.electronic_invoice_id
        tx.conn.execute(
            update(links)
            .where(links.c.id == link_id)
            .values(state="confirmed", decided_by=tx.actor, updated_at=tx.now)
        )
        others = list(
            tx.conn.scalars(
                select(links.c.id).where(
                    links.c.state == "proposed",
                    links.c.id != link_id,
                    (links.c.manual_invoice_id == mid) | (links.c.electronic_invoice_id == eid),
                )
            )
        )
        if others:
            tx.conn.execute(
                update(links)
                .where(links.c.id.in_(others))
                .values(state="rejected", decided_by=tx.actor, updated_at=tx.now)
            )
        tx.conn.execute(
            update(manual_invoices)
            .where(manual_invoices.c.invoice_id == mid)
            .values(linked_invoice_id=eid)
        )
        rows = {
            r.id: dict(r._mapping)
            for r in tx.conn.execute(select(inv_t).where(inv_t.c.id.in_([mid, eid])))
        }
        tx.event("manual.link_confirmed", "manual_link", link_id,
                 {"manual": rows[mid]["identity_key"], "electronic": rows[eid]["identity_key"],
                  "superseded": others}, tenant_id=row.tenant_id)  # fmt: skip
        for me, other in ((mid, eid), (eid, mid)):
            tx.event(
                "invoice.linked", "invoice", me,
                {"row_hash": row_hash(rows[me]), "partner_id": other, "partner": rows[other]["identity_key"],
                 "role": "paper" if me == mid else "electronic", "link_id": link_id},
                tenant_id=row.tenant_id,
            )  # fmt: skip
        incident_id = tx.conn.scalar(
            select(manual_invoices.c.incident_id).where(manual_invoices.c.invoice_id == mid)
        )
        if incident_id is not None:
            _note(
                tx,
                incident_id,
                "linked",
                f"纸质发票 {rows[mid]['identity_key']} ↔ 电子发票 {rows[eid]['identity_key']}",
            )
