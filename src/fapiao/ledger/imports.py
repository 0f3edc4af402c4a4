"""Recording a batch of parsed inputs in the ledger, in one transaction.

For each input: rejected (errors -> quarantine with its file and findings), imported (one record per
tenant that is a party: seller -> issued, buyer -> received), duplicate (same identity, same content:
nothing changes) or conflict (same identity, different content: kept for review, the ledger's record
unchanged). Near duplicates (same parties, total and date, another number) import with a warning.

Capabilities take part through hooks (`fapiao.hooks`) called inside the same transaction: one
decides the `authority_state` an invoice starts with (the outbox queues it), and every subscriber
of `invoices_recorded` writes what must exist with the invoice (its outbox entry, the 补开 request
a re-issued invoice closes). A subscriber that raises rolls the whole batch back, so an invoice is
never recorded without them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from fapiao import plugins
from fapiao.codec import canonical_bytes, invoice_to_json
from fapiao.findings import Finding, finding, has_errors
from fapiao.ledger import schema
from fapiao.ledger.store import (
    FINDING_COLUMNS,
    LINE_COLUMNS,
    Ledger,
    WriteTx,
    detail_hash_values,
    row_hash,
)
from fapiao.model import Direction, Invoice


@dataclass(slots=True)
class Incoming:
    """One parsed input on its way into the ledger."""

    file: str
    sha256: str  # of the original file
    data: bytes  # the original file, byte for byte
    invoice: Invoice | None
    findings: list[Finding] = field(default_factory=list)
    source: str = "file"
    # what the parser read, field by field: {path: {value, source, confidence}} (parse.reading)
    fields: dict[str, Any] = field(default_factory=dict)
    label: str = ""  # where inside the file ("[3]", "!member"): with sha256, the queue item's key
    # an input that passed, parsed for the import: what was read, not yet turned into `fields`
    # (done only if it is rejected after all: `no_tenant`), by which reader …
    reads: dict[str, Any] | None = None
    reader: str = ""
    # … and what the ledger records of it, made beside the parser (`prepare_record`)
    prepared: Prepared | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Field values in order; a prepared input (valid, its `Prepared` made) crosses from the
        parser process without its `Invoice`: rebuilding those objects cost the writer more than
        anything it did with them."""
        invoice = None if self.prepared is not None else self.invoice
        return (
            Incoming,
            (
                self.file,
                self.sha256,
                self.data,
                invoice,
                self.findings,
                self.source,
                self.fields,
                self.label,
                self.reads,
                self.reader,
                self.prepared,
            ),
        )


@dataclass(slots=True)
class Prepared:
    """An invoice made ready for the ledger where it was parsed: its one canonical JSON encoding,
    the hashes, its line rows as values in LINE_COLUMNS order, and the invoice row's own values
    (`head`, in HEAD order). The writer needs nothing else of the invoice, so an input crossing
    from the parser process leaves its `Invoice` behind (`Incoming.__reduce__`)."""

    doc_text: str
    content_hash: str
    fingerprint: str
    lines: list[tuple[Any, ...]]
    head: tuple[Any, ...]

    def __reduce__(self) -> tuple[Any, ...]:  # a plain tuple on the way between processes
        return (
            Prepared,
            (self.doc_text, self.content_hash, self.fingerprint, self.lines, self.head),
        )

    @property
    def key(self) -> str:
        return self.head[0]  # type: ignore[no-any-return]


HEAD = (
    "identity_key",
    "kind",
    "code",
    "number",
    "issue_date",
    "seller_tax_id",
    "seller_name",
    "buyer_tax_id",
    "buyer_name",
    "amount",
    "tax",
    "total",
    "status",
    "original_key",
)


def _head(inv: Invoice) -> tuple[Any, ...]:
    return (
        inv.identity.key,
        inv.kind.value,
        inv.code,
        inv.number,
        inv.issue_date,
        inv.seller.tax_id,
        inv.seller.name,
        inv.buyer.tax_id,
        inv.buyer.name,
        inv.amount,
        inv.tax,
        inv.total,
        inv.status.value,
        inv.original.key if inv.original else "",
    )


@dataclass(slots=True)
class Outcome:
    status: str  # imported / duplicate / conflict / rejected
    file: str
    id: str = ""
    code: str = ""
    number: str = ""
    fields: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    review: str = ""  # a rejected input's review queue item

    def to_json(self) -> dict[str, Any]:
        if self.status == "rejected":
            out_r: dict[str, Any] = {
                "file": self.file,
                "findings": [f.to_json() for f in self.findings],
            }
            if self.review:
                out_r["review"] = self.review
            return out_r
        out: dict[str, Any] = {
            "id": self.id,
            "number": self.number,
            "code": self.code,
            "file": self.file,
        }
        if self.status == "conflict":
            out["fields"] = self.fields
        if self.findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


def fingerprint(inv: Invoice) -> str:
    text = f"{inv.seller.tax_id}|{inv.buyer.tax_id}|{inv.total}|{inv.issue_date.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def differing_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


@dataclass(slots=True)
class _Record:
    incoming: Incoming
    tenant_id: int
    direction: Direction
    ready: Prepared

    @property
    def doc_text(self) -> str:
        return self.ready.doc_text

    @property
    def content_hash(self) -> str:
        return self.ready.content_hash

    @property
    def fingerprint(self) -> str:
        return self.ready.fingerprint

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.doc_text)  # type: ignore[no-any-return]


def import_batch(
    ledger: Ledger,
    tenants: dict[str, int],
    batch: list[Incoming],
    *,
    late_fields: Callable[[Incoming], dict[str, Any]] | None = None,
) -> list[Outcome]:
    """Record one batch atomically; returns one outcome per record (an input may give two).
    `late_fields`: makes the `fields` of an input whose reads were set aside (`Incoming.reads`),
    should it be rejected here after all (the importer's, which knows the readers)."""
    outcomes: list[Outcome] = []
    records: list[_Record] = []
    rejected: list[Incoming] = []
    for item in batch:
        recs = _records_for(item, tenants)
        if recs is None and item.reads is not None and late_fields is not None:
            item.fields, item.reads = late_fields(item), None  # the review queue shows them
        if recs is None:
            rejected.append(item)
        else:
            records.extend(recs)
    with ledger.write() as tx:
        if tx.conn.dialect.name == "postgresql":
            # this transaction's reads are lookups of a thousand keys; with statistics lagging a
            # growing table PostgreSQL would scan the whole table for them, batch after batch
            tx.conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        _store_blobs(tx, batch)
        queued = _queued(tx, rejected)
        for item in rejected:
            outcomes.append(_quarantine(tx, item, queued))
        outcomes.extend(_record_invoices(tx, records))
    return outcomes


def prepare(item: Incoming, tenants: dict[str, int]) -> list[_Record] | None:
    """The records an input makes (one per tenant that is a party), or None when it is rejected
    (its findings then say why: an error, or `no_tenant`). For the review queue's accept."""
    return _records_for(item, tenants)


def record_prepared(tx: WriteTx, records: list[_Record]) -> list[Outcome]:
    """Record prepared inputs in the caller's transaction, exactly as an import does: dedupe,
    conflicts, near duplicates, and the hooks (the outbox entry, the 补开 request closed)."""
    return _record_invoices(tx, records)


def prepare_record(item: Incoming) -> Prepared:
    """What the ledger records of an input's invoice apart from ids: the one encoding of the
    invoice, made where it was parsed (the parser process of a large import)."""
    inv = item.invoice
    assert inv is not None
    doc_bytes = canonical_bytes(invoice_to_json(inv))
    return Prepared(
        doc_bytes.decode(),
        hashlib.sha256(doc_bytes).hexdigest(),
        fingerprint(inv),
        _line_values(inv),
        _head(inv),
    )


def _records_for(item: Incoming, tenants: dict[str, int]) -> list[_Record] | None:
    if has_errors(item.findings) or (item.invoice is None and item.prepared is None):
        return None
    ready = item.prepared or prepare_record(item)
    head = ready.head
    seller_tax_id, seller_name, buyer_tax_id, buyer_name = head[5:9]
    parties = [
        (tenants.get(seller_tax_id), Direction.ISSUED),
        (tenants.get(buyer_tax_id), Direction.RECEIVED),
    ]
    owned = [(tid, d) for tid, d in parties if tid is not None and seller_tax_id]
    if not owned:
        item.findings.append(
            finding(
                "no_tenant",
                "seller.tax_id",
                seller=seller_tax_id or seller_name,
                buyer=buyer_tax_id or buyer_name,
            )
        )
        return None
    return [_Record(item, tid, direction, ready) for tid, direction in owned]


def _store_blobs(tx: WriteTx, batch: list[Incoming]) -> None:
    wanted = {item.sha256: item.data for item in batch}
    present = set(
        tx.conn.scalars(
            select(schema.blobs.c.sha256).where(schema.blobs.c.sha256.in_(list(wanted)))
        )
    )
    tx.insert(
        schema.blobs,
        [
            {"sha256": sha, "size": len(data), "data": data, "created_at": tx.now}
            for sha, data in wanted.items()
            if sha not in present
        ],
    )


def _queued(tx: WriteTx, rejected: list[Incoming]) -> dict[tuple[str, str], Any]:
    """(sha256, label) -> the queue item already made for that file (the first, if re-runs of old
    versions made several): the same file rejected again makes no second item."""
    q = schema.quarantine
    shas = list({item.sha256 for item in rejected})
    found: dict[tuple[str, str], Any] = {}
    for start in range(0, len(shas), 500):
        rows = tx.conn.execute(
            select(q.c.id, q.c.sha256, q.c.label, q.c.state, q.c.invoice_ids)
            .where(q.c.sha256.in_(shas[start : start + 500]))
            .order_by(q.c.id)
        )
        for row in rows:
            found.setdefault((row.sha256, row.label), row)
    return found


def _read(fields: dict[str, Any], path: str) -> str:
    value = fields.get(path)
    return str(value.get("value", ""))[:32] if isinstance(value, dict) else ""


def _quarantine(
    tx: WriteTx, item: Incoming, queued: dict[tuple[str, str], Any] | None = None
) -> Outcome:
    """Keep a rejected input as a review queue item (once per file and place in it); `queued`:
    the batch's items already known (looked up here when not given)."""
    if queued is None:
        queued = _queued(tx, [item])
    seen = queued.get((item.sha256, item.label))
    if seen is not None:
        return _seen_again(tx, item, seen)
    (qid,) = tx.new_ids(1)
    findings_json = [f.to_json() for f in item.findings]
    row = {
        "id": qid,
        "file_name": item.file[-400:],
        "sha256": item.sha256,
        "findings": json.dumps(findings_json, ensure_ascii=False),
        "created_at": tx.now,
        "label": item.label[:200],
        "fields": json.dumps(item.fields, ensure_ascii=False),
        "seller_tax_id": _read(item.fields, "seller.tax_id").upper(),
        "buyer_tax_id": _read(item.fields, "buyer.tax_id").upper(),
    }
    tx.insert(schema.quarantine, [row])
    tx.event(
        "input.quarantined",
        "quarantine",
        qid,
        {
            "file": item.file,
            "sha256": item.sha256,
            "label": item.label,
            "findings": findings_json,
            "fields": item.fields,
        },
    )
    queued[(item.sha256, item.label)] = _Queued(qid, item.sha256, item.label, "open", "[]")
    return Outcome("rejected", item.file, findings=item.findings, review=str(qid))


@dataclass(slots=True)
class _Queued:
    id: int
    sha256: str
    label: str
    state: str
    invoice_ids: str


def _seen_again(tx: WriteTx, item: Incoming, seen: Any) -> Outcome:
    """A file already in the queue: still rejected (open or rejected by a person), or, once a
    person accepted it, a duplicate of the invoice that was recorded from it."""
    ids = json.loads(seen.invoice_ids or "[]")
    if seen.state == "accepted" and ids:
        inv_t = schema.invoices
        rec = tx.conn.execute(
            select(inv_t.c.id, inv_t.c.code, inv_t.c.number).where(inv_t.c.id == int(ids[0]))
        ).first()
        if rec is not None:
            return Outcome("duplicate", item.file, str(rec.id), rec.code, rec.number)
    return Outcome("rejected", item.file, findings=item.findings, review=str(seen.id))


def _record_invoices(tx: WriteTx, records: list[_Record]) -> list[Outcome]:
    if not records:
        return []
    inv_t = schema.invoices
    keys = list({r.ready.key for r in records})
    existing: dict[tuple[int, str], Any] = {
        (row.tenant_id, row.identity_key): row
        for row in tx.conn.execute(
            select(
                inv_t.c.id,
                inv_t.c.tenant_id,
                inv_t.c.identity_key,
                inv_t.c.content_hash,
                inv_t.c.doc,
            ).where(inv_t.c.identity_key.in_(keys))
        )
    }
    near: dict[tuple[int, str], str] = {
        (row.tenant_id, row.fingerprint): row.identity_key
        for row in tx.conn.execute(
            select(inv_t.c.tenant_id, inv_t.c.fingerprint, inv_t.c.identity_key).where(
                inv_t.c.fingerprint.in_(list({r.fingerprint for r in records}))
            )
        )
    }
    hook = plugins.hook()
    state_of = hook.authority_state_on_import(tx=tx)
    outcomes: list[Outcome] = []
    rows: list[dict[str, Any]] = []
    items: list[tuple[Any, ...]] = []
    found: list[tuple[Any, ...]] = []
    conflicts: list[dict[str, Any]] = []
    for rec in records:
        key = rec.ready.key
        seen = existing.get((rec.tenant_id, key))
        if seen is not None:
            outcomes.append(_duplicate_or_conflict(tx, rec, seen, conflicts))
            continue
        other = near.get((rec.tenant_id, rec.fingerprint))
        findings = list(rec.incoming.findings)
        if other is not None and other != key:
            findings.append(finding("near_duplicate", "number", other=other))
        (inv_id,) = tx.new_ids(1)
        row = _invoice_row(tx, rec, inv_id)
        if state_of is not None:
            row["authority_state"] = state_of(row)
        rows.append(row)
        lines = rec.ready.lines
        notes = [_finding_values(f) for f in findings]
        items.extend((inv_id, *line) for line in lines)
        found.extend((inv_id, *note) for note in notes)
        tx.event(
            "invoice.imported",
            "invoice",
            inv_id,
            {
                "row_hash": row_hash(row),
                "detail_hash": detail_hash_values(lines, notes),
                "file": rec.incoming.file,
                "sha256": rec.incoming.sha256,
                "findings": [f.to_json() for f in findings],
            },
            tenant_id=rec.tenant_id,
            embedded={"doc": rec.doc_text},
        )
        existing[(rec.tenant_id, key)] = _Seen(inv_id, rec.content_hash, rec.doc_text)
        near.setdefault((rec.tenant_id, rec.fingerprint), key)
        outcomes.append(
            Outcome(
                "imported", rec.incoming.file, str(inv_id), *rec.ready.head[2:4], findings=findings
            )
        )
    tx.insert(schema.invoices, rows)
    tx.insert_values(schema.line_items, ("invoice_id", *LINE_COLUMNS), items)
    tx.insert_values(schema.invoice_findings, ("invoice_id", *FINDING_COLUMNS), found)
    tx.insert(schema.conflicts, conflicts)
    if rows:  # same transaction: no invoice without its outbox entry, its 补开 request closed
        hook.invoices_recorded(tx=tx, rows=rows, actor=tx.actor)
    return outcomes


@dataclass(slots=True)
class _Seen:
    id: int
    content_hash: str
    doc: str


def _duplicate_or_conflict(
    tx: WriteTx, rec: _Record, seen: Any, conflicts: list[dict[str, Any]]
) -> Outcome:
    code, number = rec.ready.head[2:4]
    if seen.content_hash == rec.content_hash:
        return Outcome("duplicate", rec.incoming.file, str(seen.id), code, number)
    doc = rec.doc
    fields = differing_fields(json.loads(seen.doc), doc)
    (cid,) = tx.new_ids(1)
    conflicts.append(
        {
            "id": cid,
            "invoice_id": seen.id,
            "fields": json.dumps(fields),
            "doc": rec.doc_text,
            "file_name": rec.incoming.file,
            "sha256": rec.incoming.sha256,
            "created_at": tx.now,
        }
    )
    tx.event(
        "invoice.conflict",
        "conflict",
        cid,
        {"invoice_id": seen.id, "fields": fields, "doc": doc, "file": rec.incoming.file},
        tenant_id=rec.tenant_id,
    )
    return Outcome("conflict", rec.incoming.file, str(seen.id), code, number, fields=fields)


def _invoice_row(tx: WriteTx, rec: _Record, inv_id: int) -> dict[str, Any]:
    row: dict[str, Any] = {"id": inv_id, "tenant_id": rec.tenant_id}
    row.update(zip(HEAD, rec.ready.head, strict=True))
    row.update(
        direction=rec.direction.value,
        source=rec.incoming.source,
        authority_state="local",
        content_hash=rec.content_hash,
        fingerprint=rec.fingerprint,
        doc=rec.doc_text,
        original_sha256=rec.incoming.sha256,
        original_name=rec.incoming.file[-400:],
        created_at=tx.now,
        updated_at=tx.now,
    )
    return row


def _line_values(inv: Invoice) -> list[tuple[Any, ...]]:
    """Line item rows as values in LINE_COLUMNS order (the import builds no dict per line)."""
    return [
        (n, it.name, it.spec, it.unit, it.quantity, it.unit_price, it.amount, it.tax_rate, it.tax)
        for n, it in enumerate(inv.items, start=1)
    ]


def _item_rows(inv_id: int, inv: Invoice) -> list[dict[str, Any]]:
    return [
        {"invoice_id": inv_id, **dict(zip(LINE_COLUMNS, values, strict=True))}
        for values in _line_values(inv)
    ]


def _finding_values(f: Finding) -> tuple[Any, ...]:
    """A finding row's values in FINDING_COLUMNS order."""
    return (f.code, f.field, f.severity.value, f.message, f.message_en)


# the order the two functions above write their values in
assert LINE_COLUMNS == (
    "line_no", "name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax"
)  # fmt: skip
assert FINDING_COLUMNS == ("code", "field", "severity", "message", "message_en")
