"""The red invoice of a confirmed 红字确认单, recorded as a draft and queued for issuing through the
outbox in the confirmation's own transaction (as `fapiao issue` records a draft): the platform
assigns its number; until then its identity is `draft-<id>`, its `original` the blue invoice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any

from fapiao.codec import canonical_bytes, invoice_to_json
from fapiao.findings import Finding
from fapiao.ledger import schema
from fapiao.ledger.imports import fingerprint
from fapiao.ledger.store import WriteTx, detail_hash, row_hash
from fapiao.model import Identity, Invoice, LineItem, Status
from fapiao.sync import outbox
from fapiao.validate import Context, validate

PLACEHOLDER = "0" * 20  # lets the number rule pass while the platform has not numbered it yet


def red_invoice(blue: Invoice, lines: list[LineItem], request_id: int, day: dt.date) -> Invoice:
    amount, tax = sum(i.amount for i in lines), sum(i.tax for i in lines)
    return dataclasses.replace(
        blue,
        code="",
        number="",
        issue_date=day,
        status=Status.RED,
        original=Identity(blue.code, blue.number),
        items=tuple(lines),
        amount=amount,
        tax=tax,
        total=amount + tax,
        check_code="",
        remarks=f"被红冲蓝字数电发票号码：{blue.number} 红字发票信息确认单编号：{request_id}",
    )


def problems_of(inv: Invoice, day: dt.date) -> list[Finding]:
    found = validate(dataclasses.replace(inv, number=PLACEHOLDER), Context(today=day))
    return [f for f in found if f.is_error]


def draft(tx: WriteTx, inv: Invoice, tenant_id: int, request_id: int) -> dict[str, Any]:
    """Insert the red draft, its lines and its outbox `issue` entry; the invoice row."""
    (inv_id,) = tx.new_ids(1)
    doc = invoice_to_json(inv)
    data = canonical_bytes(doc)
    row = {
        "id": inv_id,
        "tenant_id": tenant_id,
        "identity_key": f"draft-{inv_id}",
        "direction": "issued",
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
        "status": Status.RED.value,
        "original_key": inv.original.key if inv.original else "",
        "source": "draft",
        "authority_state": outbox.QUEUED,
        "content_hash": hashlib.sha256(data).hexdigest(),
        "fingerprint": fingerprint(inv),
        "doc": data.decode(),
        "original_sha256": None,
        "original_name": f"红字确认单 {request_id}",
        "created_at": tx.now,
        "updated_at": tx.now,
    }
    lines = [
        {
            "invoice_id": inv_id,
            "line_no": n,
            "name": it.name,
            "spec": it.spec,
            "unit": it.unit,
            "quantity": it.quantity,
            "unit_price": it.unit_price,
            "amount": it.amount,
            "tax_rate": it.tax_rate,
            "tax": it.tax,
        }
        for n, it in enumerate(inv.items, start=1)
    ]
    tx.insert(schema.invoices, [row])
    tx.insert(schema.line_items, lines)
    tx.event(
        "invoice.drafted",
        "invoice",
        inv_id,
        {
            "row_hash": row_hash(row),
            "detail_hash": detail_hash(lines, []),
            "doc": doc,
            "file": row["original_name"],
            "red_request": request_id,
        },
        tenant_id=tenant_id,
    )
    outbox.enqueue(tx, [row], op="issue")
    return row
