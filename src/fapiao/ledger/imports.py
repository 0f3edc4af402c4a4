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

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from fapiao import plugins
from fapiao.codec import canonical_bytes
from fapiao.findings import finding, has_errors
from fapiao.ledger import head_only, schema, search_index
from fapiao.ledger.incoming import (
    HEAD,
    Incoming,
    Outcome,
    Prepared,
    _finding_values,
    _item_rows,
    _line_values,
    differing_fields,
    fingerprint,
    prepare_record,
)
from fapiao.ledger.quarantine import _quarantine, _queued, _store_blobs
from fapiao.ledger.store import (
    FINDING_COLUMNS,
    LINE_COLUMNS,
    Ledger,
    WriteTx,
    among,
    detail_hash_values,
    row_hash,
)
from fapiao.model import Direction

__all__ = [  # the names other modules import from here
    "HEAD",
    "Incoming",
    "Outcome",
    "Prepared",
    "_item_rows",
    "_line_values",
    "_quarantine",
    "_store_blobs",
    "differing_fields",
    "fingerprint",
    "import_batch",
    "prepare",
    "prepare_record",
    "record_prepared",
]


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
    on: Connection | None = None,
) -> list[Outcome]:
    """Record one batch atomically; returns one outcome per record (an input may give two).
    `late_fields`: makes the `fields` of an input whose reads were set aside (`Incoming.reads`),
    should it be rejected here after all (the importer's, which knows the readers); `on`: the
    connection a run of batches holds (`Ledger.writer`)."""
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
    if any(item.source == head_only.AUTHORITY for item in rejected):  # (not on the hot path)
        rejected = _other_taxpayers_lists(rejected, {r.incoming.sha256 for r in records})
    with ledger.write(on) as tx:
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


def _other_taxpayers_lists(rejected: list[Incoming], taken: set[str]) -> list[Incoming]:
    """The rows of a platform list (source `authority`) none of which names a company of this
    ledger are another taxpayer's export, imported by mistake: one reject for the file, naming
    whose it is, instead of a review item for each of its thousands of rows. (A file's rows come
    in one batch.)"""
    lists: dict[str, list[Incoming]] = {}
    for item in rejected:
        if (
            item.source == head_only.AUTHORITY
            and item.sha256 not in taken
            and _only_no_tenant(item)
        ):
            lists.setdefault(_list_name(item), []).append(item)
    whole = [rows for rows in lists.values() if len(rows) > 1]
    if not whole:
        return rejected
    merged = {id(item) for rows in whole for item in rows}  # its other rejects stay as they are
    return [item for item in rejected if id(item) not in merged] + [_not_ours(r) for r in whole]


def _only_no_tenant(item: Incoming) -> bool:
    return [f.code for f in item.findings if f.severity.value == "error"] == ["no_tenant"]


def _not_ours(rows: list[Incoming]) -> Incoming:
    first = rows[0]
    named = set.intersection(*(_parties(row) for row in rows)) - {""}
    owner = " / ".join(sorted(named)) or "?"
    found = finding("export_not_ours", owner=owner, rows=len(rows))
    return Incoming(_list_name(first), first.sha256, first.data, None, [found], source=first.source)


def _list_name(row: Incoming) -> str:
    """The list's own name: its row's without the row ("a.zip!list.xlsx[row 2]" -> "a.zip!list.xlsx")."""
    return row.file.rpartition("[")[0] if row.label.endswith("]") else row.file


def _parties(item: Incoming) -> set[str]:
    """The seller's and the buyer's tax IDs of an input that was read."""
    if item.prepared is not None:
        seller_tax_id, _, buyer_tax_id, _ = item.prepared.head[5:9]  # as `_records_for` reads them
        return {seller_tax_id, buyer_tax_id}
    inv = item.invoice
    return {inv.seller.tax_id, inv.buyer.tax_id} if inv is not None else set()


def prepare(item: Incoming, tenants: dict[str, int]) -> list[_Record] | None:
    """The records an input makes (one per tenant that is a party), or None when it is rejected
    (its findings then say why: an error, or `no_tenant`). For the review queue's accept."""
    return _records_for(item, tenants)


def record_prepared(tx: WriteTx, records: list[_Record]) -> list[Outcome]:
    """Record prepared inputs in the caller's transaction, exactly as an import does: dedupe,
    conflicts, near duplicates, and the hooks (the outbox entry, the 补开 request closed)."""
    return _record_invoices(tx, records)


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


_NAME = LINE_COLUMNS.index("name")


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
                inv_t.c.source,
            ).where(among(tx.conn, inv_t.c.identity_key, keys))
        )
    }
    near: dict[tuple[int, str], str] = {
        (row.tenant_id, row.fingerprint): row.identity_key
        for row in tx.conn.execute(
            select(inv_t.c.tenant_id, inv_t.c.fingerprint, inv_t.c.identity_key).where(
                among(tx.conn, inv_t.c.fingerprint, list({r.fingerprint for r in records}))
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
    completions: list[tuple[int, _Record, str]] = []  # (head-only record, its file, its old doc)
    texts: list[tuple[int, str]] | None = [] if tx.conn.dialect.name == "sqlite" else None
    for rec in records:
        ready = rec.ready
        key = ready.key
        seen = existing.get((rec.tenant_id, key))
        if seen is not None:
            outcome = _duplicate_or_conflict(tx, rec, seen, conflicts)
            if outcome.status == "completed":
                completions.append((seen.id, rec, seen.doc))
                existing[(rec.tenant_id, key)] = _Seen(
                    seen.id, ready.content_hash, ready.doc_text, rec.incoming.source
                )
            outcomes.append(outcome)
            continue
        other = near.get((rec.tenant_id, ready.fingerprint))
        incoming = rec.incoming
        findings = list(incoming.findings)
        notes, detail = ready.notes, ready.detail_hash
        if other is not None and other != key:
            findings.append(finding("near_duplicate", "number", other=other))
        if findings or notes or not detail:  # the parser's hash holds for the findings it saw
            mine = [_finding_values(f) for f in findings]
            if mine != notes or not detail:
                notes, detail = mine, detail_hash_values(ready.lines, mine)
        (inv_id,) = tx.new_ids(1)  # in order with the conflicts' ids, as the chain records them
        row = _invoice_row(tx, rec, inv_id)
        if state_of is not None:
            row["authority_state"] = state_of(row)
        rows.append(row)
        if texts is not None:
            texts.append((inv_id, search_index.search_text(row, [ln[_NAME] for ln in ready.lines])))
        items.extend([(inv_id, *line) for line in ready.lines])
        if notes:
            found.extend([(inv_id, *note) for note in notes])
        tx.event_text(
            "invoice.imported",
            "invoice",
            inv_id,
            imported_payload(
                row_hash(row, doc_hash=ready.content_hash),
                detail,
                ready.doc_text,
                incoming.file,
                [f.to_json() for f in findings],
                incoming.sha256,
            ),
            tenant_id=rec.tenant_id,
        )
        existing[(rec.tenant_id, key)] = _Seen(
            inv_id, ready.content_hash, ready.doc_text, incoming.source
        )
        near.setdefault((rec.tenant_id, ready.fingerprint), key)
        outcomes.append(
            Outcome("imported", incoming.file, str(inv_id), *ready.head[2:4], findings=findings)
        )
    tx.insert(schema.invoices, rows)
    if texts:  # before the hooks, whose updates the index's triggers then follow
        search_index.index_new(tx.conn, texts)
    tx.insert_values(schema.line_items, ("invoice_id", *LINE_COLUMNS), items)
    tx.insert_values(schema.invoice_findings, ("invoice_id", *FINDING_COLUMNS), found)
    tx.insert(schema.conflicts, conflicts)
    for inv_id, rec, old_doc in completions:  # after the inserts: the record may be this batch's
        head_only.complete(tx, inv_id, rec.incoming, rec.ready, old_doc)
    if rows:  # same transaction: no invoice without its outbox entry, its 补开 request closed
        hook.invoices_recorded(tx=tx, rows=rows, actor=tx.actor)
    return outcomes


def imported_payload(
    row: str, detail: str, doc: str, file: str, findings: list[dict[str, Any]], sha256: str
) -> str:
    """The `invoice.imported` event's payload as canonical JSON (`canonical_bytes` of
    {row_hash, detail_hash, doc, file, findings, sha256}), built around the invoice's JSON text
    rather than decoding and encoding it again. The three hashes are hex: nothing to escape."""
    rest = canonical_bytes({"file": file, "findings": findings}).decode()
    return (
        f'{{"detail_hash":"{detail}","doc":{doc},{rest[1:-1]},'
        f'"row_hash":"{row}","sha256":"{sha256}"}}'
    )


@dataclass(slots=True)
class _Seen:
    id: int
    content_hash: str
    doc: str
    source: str


def _duplicate_or_conflict(
    tx: WriteTx, rec: _Record, seen: Any, conflicts: list[dict[str, Any]]
) -> Outcome:
    code, number = rec.ready.head[2:4]
    if seen.content_hash == rec.content_hash:
        return Outcome("duplicate", rec.incoming.file, str(seen.id), code, number)
    doc, held = rec.doc, json.loads(seen.doc)
    source = rec.incoming.source
    if head_only.completes(seen.source, source) and head_only.agrees(held, doc):
        findings = list(rec.incoming.findings)
        return Outcome(
            "completed", rec.incoming.file, str(seen.id), code, number, findings=findings
        )
    if head_only.is_known_head(seen.source, source) and head_only.agrees(doc, held):
        return Outcome("duplicate", rec.incoming.file, str(seen.id), code, number)
    fields = differing_fields(held, doc)
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
    ready, incoming = rec.ready, rec.incoming
    h = ready.head  # in HEAD order
    return {
        "id": inv_id,
        "tenant_id": rec.tenant_id,
        "identity_key": h[0],
        "kind": h[1],
        "code": h[2],
        "number": h[3],
        "issue_date": h[4],
        "seller_tax_id": h[5],
        "seller_name": h[6],
        "buyer_tax_id": h[7],
        "buyer_name": h[8],
        "amount": h[9],
        "tax": h[10],
        "total": h[11],
        "status": h[12],
        "original_key": h[13],
        "direction": rec.direction.value,
        "source": incoming.source,
        "authority_state": "local",
        "content_hash": ready.content_hash,
        "fingerprint": ready.fingerprint,
        "doc": ready.doc_text,
        "original_sha256": incoming.sha256,
        "original_name": incoming.file[-400:],
        "created_at": tx.now,
        "updated_at": tx.now,
    }
