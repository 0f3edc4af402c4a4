"""Resolving a review item: accept (the readings plus a person's corrections, validated again and
recorded through the import path with the original file) or reject with a reason.

Each is one `Ledger.write()` transaction: the item's new state and an event naming the actor and,
for every field set, its value before and after and where the new value came from (`user`, or
`authority` for a value taken from 查验). An item that still fails is refused with its findings and
nothing changes; an item already resolved (by someone else, a moment ago) is refused too.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from fapiao.findings import Finding, finding, has_errors
from fapiao.ledger import schema, search_index
from fapiao.ledger.imports import Incoming, Outcome, prepare, record_prepared
from fapiao.ledger.store import Ledger
from fapiao.parse.reading import FieldRead, Reads
from fapiao.review.queue import Item, check, get_item, known_path
from fapiao.validate import Context

q = schema.quarantine
SOURCES = ("user", "authority")


@dataclass(slots=True)
class Result:
    """What accept or reject did: `ok`, or the findings that refused it (nothing changed)."""

    ok: bool
    item_id: int
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.item_id),
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
            "changes": self.changes,
            "outcomes": [{"status": o.status, **o.to_json()} for o in self.outcomes],
        }


class _Closed(Exception):
    """The item was resolved by someone else between reading and the lock (rolls back)."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def diff(reads: Reads, values: Mapping[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """The changes a set of values makes: one per field whose value differs from what was read."""
    out = []
    for path, (value, source) in values.items():
        before = reads.get(path)
        old = before.value if before is not None else ""
        if value.strip() != old:
            out.append(
                {
                    "field": path,
                    "from": old if before is not None else None,
                    "to": value.strip(),
                    "source": source if source in SOURCES else "user",
                }
            )
    return out


MAX_VALUE = 500  # characters: longer than any field of an invoice


def unknown_fields(values: Mapping[str, tuple[str, str]]) -> list[Finding]:
    out = [finding("field_unknown", p) for p in values if not known_path(p)]
    out += [
        finding(
            "field_invalid",
            p,
            detail=f"超过 {MAX_VALUE} 个字符",
            detail_en=f"longer than {MAX_VALUE} characters",
        )
        for p, (value, _source) in values.items()
        if len(value) > MAX_VALUE
    ]
    return out


def _applied(item: Item, changes: list[dict[str, Any]]) -> Reads:
    reads = dict(item.reads)
    for c in changes:
        if c["to"] == "" and c["field"] in reads and c["field"].startswith("items["):
            del reads[c["field"]]  # a cleared cell of a line is not a value
        else:
            reads[c["field"]] = FieldRead(c["to"], c["source"], 1.0)
    return reads


def accept(
    ledger: Ledger,
    item_id: int,
    values: Mapping[str, tuple[str, str]] | None = None,
    *,
    tax_ids: Collection[str] | None = None,
    tenants: Mapping[str, int] | None = None,
    ctx: Context | None = None,
) -> Result:
    """Accept an item with `values` ({path: (value, source)}) over what was read.

    `tax_ids` limits which items the caller may see; `tenants` (tax ID -> tenant id) which tenants
    the invoice may be recorded for (a web user's grants); both default to everything."""
    values = dict(values or {})
    item = get_item(ledger.engine, item_id, tax_ids)
    if item is None:
        return Result(False, item_id, [finding("review_not_found", id=item_id)])
    if item.state != "open":
        return Result(False, item_id, [finding("review_closed", id=item_id, state=item.state)])
    bad = unknown_fields(values)
    if bad:
        return Result(False, item_id, bad)
    changes = diff(item.reads, values)
    reads = _applied(item, changes)
    inv, findings = check(reads, ctx)
    if inv is None or has_errors(findings):
        return Result(False, item_id, findings, changes=changes)
    incoming = Incoming(
        item.file,
        item.sha256,
        b"",  # the original is already in `blobs`
        inv,
        list(findings),
        fields={p: r.to_json() for p, r in reads.items()},
        label=item.label,
    )
    records = prepare(incoming, dict(tenants) if tenants is not None else ledger.tenants())
    if records is None:
        return Result(False, item_id, incoming.findings, changes=changes)
    try:
        with ledger.write() as tx:
            twins = _lock_open(tx, item_id)
            outcomes = record_prepared(tx, records)
            ids = sorted({o.id for o in outcomes if o.id}, key=int)
            tx.conn.execute(
                update(q)
                .where(q.c.id.in_([item_id, *twins]))
                .values(
                    state="accepted",
                    resolved_at=tx.now,
                    resolved_by=ledger.actor,
                    changes=json.dumps(changes, ensure_ascii=False),
                    invoice_ids=json.dumps(ids),
                )
            )
            tx.event(
                "review.accepted",
                "quarantine",
                item_id,
                {
                    "file": item.file,
                    "sha256": item.sha256,
                    "changes": changes,
                    "outcomes": [{"status": o.status, **o.to_json()} for o in outcomes],
                    "twins": twins,
                },
                tenant_id=records[0].tenant_id,
            )
    except _Closed as exc:
        return Result(False, item_id, [finding("review_closed", id=item_id, state=exc.state)])
    search_index.catch_up(ledger.engine)
    return Result(True, item_id, findings, outcomes, changes)


def reject(
    ledger: Ledger, item_id: int, reason: str, *, tax_ids: Collection[str] | None = None
) -> Result:
    """Close an item without recording an invoice; its file stays kept, the reason in the log."""
    reason = reason.strip()[:2000]
    item = get_item(ledger.engine, item_id, tax_ids)
    if item is None:
        return Result(False, item_id, [finding("review_not_found", id=item_id)])
    if not reason:
        return Result(False, item_id, [finding("reason_missing", "reason")])
    if item.state != "open":
        return Result(False, item_id, [finding("review_closed", id=item_id, state=item.state)])
    try:
        with ledger.write() as tx:
            twins = _lock_open(tx, item_id)
            tx.conn.execute(
                update(q)
                .where(q.c.id.in_([item_id, *twins]))
                .values(
                    state="rejected", resolved_at=tx.now, resolved_by=ledger.actor, reason=reason
                )
            )
            tx.event(
                "review.rejected",
                "quarantine",
                item_id,
                {"file": item.file, "sha256": item.sha256, "reason": reason, "twins": twins},
            )
    except _Closed as exc:
        return Result(False, item_id, [finding("review_closed", id=item_id, state=exc.state)])
    return Result(True, item_id)


def _lock_open(tx: Any, item_id: int) -> list[int]:
    """Under the ledger lock: the item must still be open. Returns its open twins (the same file
    quarantined again by re-runs before the queue existed), resolved with it."""
    row = tx.conn.execute(
        select(q.c.state, q.c.sha256, q.c.label, q.c.file_name).where(q.c.id == item_id)
    ).first()
    if row is None or row.state != "open":
        raise _Closed(str(row.state if row is not None else "missing"))
    return list(
        tx.conn.scalars(
            select(q.c.id)
            .where(
                q.c.sha256 == row.sha256,
                q.c.label == row.label,
                q.c.file_name == row.file_name,
                q.c.state == "open",
                q.c.id > item_id,
            )
            .order_by(q.c.id)
        )
    )
