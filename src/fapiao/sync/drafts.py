"""`fapiao issue DRAFT…`: drafts (canonical JSON without a number) recorded and queued for issuing.

Each draft becomes an invoice row (number empty, identity `draft-<id>` until the platform numbers it,
source `draft`, authority_state `queued`) and an outbox `issue` entry, in one transaction. A draft
that cannot be issued is rejected with findings and quarantined with its file, as an import would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fapiao.codec import canonical_bytes, invoice_from_json, invoice_to_json
from fapiao.contingency.pause import paused, refusal
from fapiao.findings import Finding, finding, has_errors
from fapiao.ledger import schema
from fapiao.ledger.imports import Incoming, _item_rows, _quarantine, _store_blobs, fingerprint
from fapiao.ledger.store import Ledger, detail_hash, row_hash
from fapiao.model import Direction, Invoice
from fapiao.sync import outbox
from fapiao.validate import Context, today_in_china, validate

PLACEHOLDER = "0" * 20  # lets the number rule pass while the platform has not numbered it yet


@dataclass(slots=True)
class DraftOutcome:
    file: str
    id: str = ""
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file}
        if self.id:
            out["id"] = self.id
        if self.findings:
            out["findings"] = [f.to_json() for f in self.findings]
        return out


def read_draft(
    name: str, data: bytes, tenants: dict[str, int]
) -> tuple[Invoice | None, list[Finding]]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        detail, detail_en = f"{name}：不是 UTF-8 JSON（{exc}）", f"{name}: {exc}"
        return None, [finding("unreadable", detail=detail, detail_en=detail_en)]
    if not isinstance(doc, dict):
        detail, detail_en = f"{name}：草稿须为 JSON 对象", f"{name}: a draft is a JSON object"
        return None, [finding("unreadable", detail=detail, detail_en=detail_en)]
    if doc.get("number"):
        return None, [
            finding("field_invalid", "number", detail="草稿不应带发票号码 / a draft has no number")
        ]
    doc = {**doc, "number": "", "code": ""}
    doc.setdefault("issue_date", today_in_china().isoformat())
    inv, problems = invoice_from_json(doc)
    if inv is None:
        return None, problems
    found = validate(dataclasses.replace(inv, number=PLACEHOLDER), Context())
    if not inv.kind.is_digital:
        found.append(finding("field_invalid", "kind", detail="平台只为数电票赋号 / 数电票 only"))
    if inv.seller.tax_id not in tenants:
        found.append(
            finding("no_tenant", "seller.tax_id", seller=inv.seller.tax_id, buyer=inv.buyer.tax_id)
        )
    return inv, found


def record_drafts(ledger: Ledger, files: list[Path]) -> list[DraftOutcome]:
    """Record each readable draft with its outbox entry; reject (and quarantine) the others."""
    tenants = ledger.tenants()
    held = paused(ledger.engine)
    items: list[tuple[Incoming, Invoice | None]] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            data, problems = b"", [finding("unreadable", detail=exc.strerror or str(exc))]
            inv = None
        else:
            inv, problems = read_draft(str(path), data, tenants)
            pause = held.get(tenants.get(inv.seller.tax_id, -1)) if inv is not None else None
            if pause is not None:  # issuing is refused while the company is paused
                problems.append(refusal(pause["reason"]))
        sha = hashlib.sha256(data).hexdigest()
        items.append((Incoming(str(path), sha, data, inv, problems, source="draft"), inv))
    outcomes: list[DraftOutcome] = []
    with ledger.write() as tx:
        _store_blobs(tx, [i for i, _ in items])
        rows, lines = [], []
        for incoming, inv in items:
            if inv is None or has_errors(incoming.findings):
                _quarantine(tx, incoming)
                outcomes.append(DraftOutcome(incoming.file, findings=incoming.findings))
                continue
            (inv_id,) = tx.new_ids(1)
            doc = invoice_to_json(inv)
            data = canonical_bytes(doc)
            row = {
                "id": inv_id,
                "tenant_id": tenants[inv.seller.tax_id],
                "identity_key": f"draft-{inv_id}",
                "direction": Direction.ISSUED.value,
                "kind": inv.kind.value,
                "code": "",
                "number": "",
                "issue_date": inv.issue_date,
                "seller_tax_id": inv.seller.tax_id,
                "seller_name": inv.seller.name,
                "buyer_tax_id": inv.buyer.tax_id,
                "buyer_name": inv.buyer.name,
                "amount": inv.amount,
                "tax": inv.tax,
                "total": inv.total,
                "status": inv.status.value,
                "original_key": inv.original.key if inv.original else "",
                "source": "draft",
                "authority_state": outbox.QUEUED,
                "content_hash": hashlib.sha256(data).hexdigest(),
                "fingerprint": fingerprint(inv),
                "doc": data.decode(),
                "original_sha256": incoming.sha256,
                "original_name": incoming.file[-400:],
                "created_at": tx.now,
                "updated_at": tx.now,
            }
            rows.append(row)
            mine = _item_rows(inv_id, inv)
            lines.extend(mine)
            tx.event(
                "invoice.drafted",
                "invoice",
                inv_id,
                {
                    "row_hash": row_hash(row),
                    "detail_hash": detail_hash(mine, []),
                    "doc": doc,
                    "file": incoming.file,
                },
                tenant_id=row["tenant_id"],
            )
            outcomes.append(
                DraftOutcome(
                    incoming.file, str(inv_id), [f for f in incoming.findings if not f.is_error]
                )
            )
        tx.insert(schema.invoices, rows)
        tx.insert(schema.line_items, lines)
        outbox.enqueue(tx, rows, op="issue")
    return outcomes
