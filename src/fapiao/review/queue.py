"""Reading the review queue: items with their file, the fields read, their findings and, once
resolved, who did what. Scoped to tenants by the tax IDs read from the file (an item naming no
tenant of the user is hidden, as another tenant's invoice is)."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, or_, select

from fapiao.findings import Finding, finding, has_errors
from fapiao.ledger import schema
from fapiao.parse.reading import FieldRead, Reads, build, reads_from_json, reads_to_json
from fapiao.validate import Context, validate

q = schema.quarantine
STATES = ("open", "accepted", "rejected")

# the fields a person may set: the canonical invoice's (DESIGN.md), items by 1-based line
TOP = (
    "kind",
    "code",
    "number",
    "issue_date",
    "amount",
    "tax",
    "total",
    "check_code",
    "status",
    "remarks",
    "issuer",
)
PARTY = ("name", "tax_id")
ITEM = ("name", "spec", "unit", "quantity", "unit_price", "amount", "tax_rate", "tax")
_PATH = re.compile(
    rf"^(?:({'|'.join(TOP)})|(seller|buyer)\.({'|'.join(PARTY)})|original\.(code|number)"
    rf"|items\[([1-9]\d{{0,2}})\]\.({'|'.join(ITEM)}))$"
)
MAX_ITEMS = 200


def known_path(path: str) -> bool:
    return bool(_PATH.match(path))


def form_paths(reads: Reads) -> list[str]:
    """Every field the form shows, in reading order: the header, both parties, then each line read
    (at least one), so a person can fill what the parser missed."""
    paths = [
        "kind",
        "code",
        "number",
        "issue_date",
        "check_code",
        "seller.name",
        "seller.tax_id",
        "buyer.name",
        "buyer.tax_id",
        "amount",
        "tax",
        "total",
        "status",
        "remarks",
        "issuer",
    ]
    lines = sorted({int(m.group(5)) for p in reads if (m := _PATH.match(p)) and m.group(5)} or {1})
    for n in lines[:MAX_ITEMS]:
        paths.extend(f"items[{n}].{a}" for a in ITEM)
    extra = [p for p in reads if p not in paths]
    return paths + extra


@dataclass(slots=True)
class Item:
    id: int
    file: str
    sha256: str
    label: str
    state: str
    created_at: str
    reads: Reads  # as read from the file
    findings: list[Finding]  # when it was rejected
    changes: list[dict[str, Any]] = field(default_factory=list)
    resolved_at: str = ""
    resolved_by: str = ""
    reason: str = ""
    invoice_ids: list[str] = field(default_factory=list)

    def current(self) -> Reads:
        """The readings with the changes a person made (after accept: the values recorded)."""
        out = dict(self.reads)
        for c in self.changes:
            out[c["field"]] = FieldRead(str(c["to"]), c.get("source", "user"), 1.0)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "file": self.file,
            "sha256": self.sha256,
            "state": self.state,
            "created_at": self.created_at,
            "fields": reads_to_json(self.current()),
            "findings": [f.to_json() for f in self.findings],
            "changes": self.changes,
            "resolved_at": self.resolved_at,
            "resolved_by": self.resolved_by,
            "reason": self.reason,
            "invoice_ids": self.invoice_ids,
        }


def _item(row: Any) -> Item:
    try:
        reads = reads_from_json(json.loads(row.fields or "{}"))
    except (ValueError, TypeError, AttributeError):
        reads = {}
    return Item(
        id=int(row.id),
        file=row.file_name,
        sha256=row.sha256,
        label=row.label,
        state=row.state,
        created_at=row.created_at,
        reads=reads,
        findings=[Finding.from_json(f) for f in json.loads(row.findings or "[]")],
        changes=json.loads(row.changes or "[]"),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        reason=row.reason,
        invoice_ids=[str(i) for i in json.loads(row.invoice_ids or "[]")],
    )


_twin = schema.quarantine.alias("twin")
# Before the queue, each re-run quarantined the same file again: such rows (same file, same
# content, same place in it) are one item, shown as the first; resolving it resolves them all.
FIRST_OF_TWINS = ~(
    select(_twin.c.id)
    .where(
        _twin.c.sha256 == q.c.sha256,
        _twin.c.label == q.c.label,
        _twin.c.file_name == q.c.file_name,
        _twin.c.id < q.c.id,
    )
    .exists()
)


def _scoped(stmt: Any, tax_ids: Collection[str] | None) -> Any:
    """None: every item; otherwise items whose seller or buyer is one of these tax IDs. Later
    twins of an item (old re-runs) are left out."""
    stmt = stmt.where(FIRST_OF_TWINS)
    if tax_ids is None:
        return stmt
    wanted = sorted(tax_ids) or ["-"]
    return stmt.where(or_(q.c.seller_tax_id.in_(wanted), q.c.buyer_tax_id.in_(wanted)))


def list_items(
    engine: Engine,
    *,
    state: str | None = "open",
    tax_ids: Collection[str] | None = None,
    limit: int = 1000,
    after: int = 0,
) -> list[Item]:
    stmt = select(q).where(q.c.id > after)
    if state:
        stmt = stmt.where(q.c.state == state)
    stmt = _scoped(stmt, tax_ids).order_by(q.c.id).limit(limit)
    with engine.connect() as conn:
        return [_item(r) for r in conn.execute(stmt)]


def count_open(engine: Engine, tax_ids: Collection[str] | None = None) -> int:
    stmt = _scoped(select(func.count()).select_from(q).where(q.c.state == "open"), tax_ids)
    with engine.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def get_item(engine: Engine, item_id: int, tax_ids: Collection[str] | None = None) -> Item | None:
    stmt = _scoped(select(q).where(q.c.id == item_id), tax_ids)
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return _item(row) if row is not None else None


def next_open(engine: Engine, after: int, tax_ids: Collection[str] | None = None) -> int | None:
    """The open item after this one (else the first open one), for "accept and go to the next"."""
    stmt = _scoped(select(q.c.id).where(q.c.state == "open"), tax_ids)
    with engine.connect() as conn:
        found = conn.scalar(stmt.where(q.c.id > after).order_by(q.c.id).limit(1))
        if found is None:
            found = conn.scalar(stmt.where(q.c.id != after).order_by(q.c.id).limit(1))
    return int(found) if found is not None else None


def blob(engine: Engine, sha256: str) -> bytes | None:
    with engine.connect() as conn:
        data = conn.scalar(select(schema.blobs.c.data).where(schema.blobs.c.sha256 == sha256))
    return bytes(data) if data is not None else None


def check(reads: Reads, ctx: Context | None = None) -> tuple[Any, list[Finding]]:
    """Build the invoice the readings make and validate it: (invoice or None, findings)."""
    inv, findings = build(reads)
    if inv is None or has_errors(findings):
        return None, findings or [finding("unreadable", detail="没有发票", detail_en="no invoice")]
    return inv, findings + validate(inv, ctx or Context())


def failing_fields(findings: list[Finding]) -> set[str]:
    """The fields the findings name (a finding may name several, comma-separated)."""
    return {part.strip() for f in findings if f.is_error for part in f.field.split(",") if part}
