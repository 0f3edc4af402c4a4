"""An input on its way into the ledger, and what the ledger records of it before ids are known.

`prepare_record` runs where the input was parsed (the parser process of a large import): the
invoice's one canonical JSON encoding, its hashes, its line rows and the invoice row's own values,
as plain tuples, so the writer does no per-invoice encoding and the `Invoice` need not cross
between the processes. `Outcome` is what the import reports for each input.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fapiao.codec import canonical_bytes, invoice_to_json
from fapiao.findings import Finding
from fapiao.ledger.store import FINDING_COLUMNS, LINE_COLUMNS, detail_hash_values
from fapiao.model import Invoice


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
    # the input's findings as rows (FINDING_COLUMNS order), and `detail_hash` over them and the
    # lines: the writer hashes again only when it adds a finding (`near_duplicate`)
    notes: list[tuple[Any, ...]] = field(default_factory=list)
    detail_hash: str = ""

    def __reduce__(self) -> tuple[Any, ...]:  # a plain tuple on the way between processes
        return (
            Prepared,
            (
                self.doc_text,
                self.content_hash,
                self.fingerprint,
                self.lines,
                self.head,
                self.notes,
                self.detail_hash,
            ),
        )

    @property
    def key(self) -> str:
        return self.head[0]  # type: ignore[no-any-return]


HEAD = (  # `imports._invoice_row` reads them by position
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


def prepare_record(item: Incoming) -> Prepared:
    """What the ledger records of an input's invoice apart from ids: the one encoding of the
    invoice, made where it was parsed (the parser process of a large import)."""
    inv = item.invoice
    assert inv is not None
    doc_bytes = canonical_bytes(invoice_to_json(inv))
    lines = _line_values(inv)
    notes = [_finding_values(f) for f in item.findings]
    return Prepared(
        doc_bytes.decode(),
        hashlib.sha256(doc_bytes).hexdigest(),
        fingerprint(inv),
        lines,
        _head(inv),
        notes,
        detail_hash_values(lines, notes),
    )


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
