"""An invoice the ledger knows only from the platform's own record, and the invoice's own file.

A record taken from the platform (source `authority`: a row of its 全量发票查询 export, or a
reconciliation's take-from-authority remedy) is the invoice's head only: no line items, no check
code, not its own file. When the invoice's own file arrives later and agrees with every field the
head carries, it completes the record (`invoice.completed`): the ledger then holds the invoice in
full, with the file as its original; the platform's state of it is unchanged. The other way round,
a platform row for an invoice the ledger holds in full, agreeing with it, is a duplicate. Any
disagreement stays a conflict for a person to review, and the record stays as it is.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select, update

from fapiao.ledger import schema
from fapiao.ledger.incoming import HEAD, Incoming, Prepared, _finding_values, differing_fields
from fapiao.ledger.store import FINDING_COLUMNS, LINE_COLUMNS, WriteTx, detail_hash_values, row_hash

AUTHORITY = "authority"  # the source of a record taken from the platform's own list


def agrees(head: dict[str, Any], full: dict[str, Any]) -> bool:
    """Nothing the two say contradicts: every field both carry (not empty) is the same; text is
    compared without its whitespace (the list and the file break a 备注 differently). A field one
    of them lacks (the list has no check code, a PDF's 开票人 may go unread) is no difference."""
    return all(
        _same(value, full.get(key))
        for key, value in head.items()
        if value not in _EMPTY and full.get(key) not in _EMPTY
    )


_EMPTY = ("", None, [], {})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return "".join(a.split()) == "".join(b.split())
    if isinstance(a, dict) and isinstance(b, dict):
        return agrees(a, b)
    return bool(a == b)


def completes(seen_source: str, incoming_source: str) -> bool:
    """An input from a file (or any source but the platform's list) meeting a head-only record."""
    return seen_source == AUTHORITY and incoming_source != AUTHORITY


def is_known_head(seen_source: str, incoming_source: str) -> bool:
    """A platform row meeting a record the ledger holds in full."""
    return incoming_source == AUTHORITY and seen_source != AUTHORITY


def complete(tx: WriteTx, invoice_id: int, item: Incoming, ready: Prepared, old_doc: str) -> None:
    """Record the file's invoice in place of the head-only record `invoice_id` (written before, in
    this transaction or an earlier one): its JSON, lines, findings and original; one event with the
    row's and the details' new hashes, so `audit verify` holds."""
    inv_t = schema.invoices
    row = dict(tx.conn.execute(select(inv_t).where(inv_t.c.id == invoice_id)).mappings().one())
    values = dict(zip(HEAD, ready.head, strict=True)) | {
        "source": item.source,
        "content_hash": ready.content_hash,
        "fingerprint": ready.fingerprint,
        "doc": ready.doc_text,
        "original_sha256": item.sha256,
        "original_name": item.file[-400:],
        "updated_at": tx.now,
    }
    tx.conn.execute(update(inv_t).where(inv_t.c.id == invoice_id).values(**values))
    row.update(values)
    notes = [_finding_values(f) for f in item.findings]
    for table in (schema.line_items, schema.invoice_findings):
        tx.conn.execute(delete(table).where(table.c.invoice_id == invoice_id))
    lines = [(invoice_id, *line) for line in ready.lines]
    tx.insert_values(schema.line_items, ("invoice_id", *LINE_COLUMNS), lines)
    found = [(invoice_id, *note) for note in notes]
    tx.insert_values(schema.invoice_findings, ("invoice_id", *FINDING_COLUMNS), found)
    tx.event(
        "invoice.completed",
        "invoice",
        invoice_id,
        {
            "row_hash": row_hash(row, doc_hash=ready.content_hash),
            "detail_hash": detail_hash_values(ready.lines, notes),
            "file": item.file,
            "sha256": item.sha256,
            "findings": [f.to_json() for f in item.findings],
            "added": differing_fields(json.loads(old_doc), json.loads(ready.doc_text)),
        },
        tenant_id=row["tenant_id"],
        embedded={"doc": ready.doc_text},
    )
