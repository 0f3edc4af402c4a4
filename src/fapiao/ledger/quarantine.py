"""What an import keeps of its inputs besides invoices: the original files (content-addressed
blobs) and the review queue (quarantine) for inputs it rejects, once per file and place in it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fapiao.ledger import schema
from fapiao.ledger.incoming import Incoming, Outcome
from fapiao.ledger.store import WriteTx, among

LARGE_BLOB = 1024 * 1024
_BLOB_COLUMNS = tuple(c.name for c in schema.blobs.columns)  # a row's values in this order


def _store_blobs(tx: WriteTx, batch: list[Incoming]) -> None:
    wanted = {item.sha256: item.data for item in batch}
    present = set(
        tx.conn.scalars(
            select(schema.blobs.c.sha256).where(among(tx.conn, schema.blobs.c.sha256, list(wanted)))
        )
    )
    rows = [(sha, len(data), data, tx.now) for sha, data in wanted.items() if sha not in present]
    tx.insert_values(schema.blobs, _BLOB_COLUMNS, [row for row in rows if row[1] < LARGE_BLOB])
    # a driver copies a statement's parameters before it sends them: a large file goes in a
    # statement of its own, so that the copy is one file's bytes, not a batch's
    for row in rows:
        if row[1] >= LARGE_BLOB:
            tx.insert_values(schema.blobs, _BLOB_COLUMNS, [row])


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
