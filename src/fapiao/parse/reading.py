"""What a parser read, field by field, with where each value came from and how sure it is.

A reading is never all-or-nothing: every parser returns each field it read as a `FieldRead` (the
value as canonical JSON writes it, its source and a confidence), keyed by the canonical path
(`number`, `seller.name`, `items[2].amount`, 1-based like findings). The invoice is built from the
readings (`build`), so a file that cannot be fully read still shows what was read, and a person can
complete it (the review queue sets fields with source `user` and builds again).

The QR code is the floor (`apply_qr`): kind, code, number, date, one amount and the check code are
taken from it whenever it is present; a printed value that disagrees is a `source_mismatch`
finding, never a silent choice.

A helper module of the parse package (no `sniff`/`parse`); imports only the model, codec, money
and findings.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from fapiao.codec import invoice_from_json, invoice_to_json, normalise_rate, parse_date
from fapiao.findings import Finding, Severity, finding
from fapiao.model import Invoice
from fapiao.money import MoneyError, format_fen, parse_yuan
from fapiao.parse.ofd_crosscheck import QrPayload

# Where a value came from (`FieldRead.source`): xml, ofd, json, text, ocr, qr, derived (computed
# from other fields: total = amount + tax), user (set in review), authority (filled from 查验).
MONEY_FIELDS = frozenset({"amount", "tax", "total"})
_ITEM = re.compile(r"^items\[(\d+)\]\.(\w+)$")


@dataclass(frozen=True, slots=True)
class FieldRead:
    """One field as read: the value as canonical JSON writes it, its source, a confidence 0..1."""

    value: str
    source: str
    confidence: float = 1.0

    def __reduce__(self) -> tuple[Any, ...]:
        """A plain tuple between processes: an import's parser workers hand back a score of these
        for each PDF, and a frozen dataclass's own pickling (its state set field by field) cost
        30 µs a file each way."""
        return (FieldRead, (self.value, self.source, self.confidence))

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "confidence": round(self.confidence, 3)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldRead:
        return cls(
            str(data.get("value", "")), str(data.get("source", "")), data.get("confidence", 1)
        )


Reads = dict[str, FieldRead]


def reads_to_json(reads: Reads) -> dict[str, dict[str, Any]]:
    return {path: read.to_json() for path, read in sorted(reads.items(), key=_order)}


def reads_from_json(data: dict[str, Any]) -> Reads:
    return {path: FieldRead.from_json(value) for path, value in data.items()}


def from_invoice(inv: Invoice, source: str, confidence: float = 1.0) -> Reads:
    """Every non-empty field of a fully read invoice, all from one source."""
    return flatten(invoice_to_json(inv), source, confidence)


def flatten(doc: dict[str, Any], source: str, confidence: float = 1.0) -> Reads:
    """Canonical JSON (possibly partial) -> readings; empty values are left out."""
    out: Reads = {}
    for key, value in doc.items():
        if key == "items" and isinstance(value, list):
            for n, row in enumerate(value, start=1):
                for attr, cell in (row or {}).items():
                    if cell not in (None, ""):
                        out[f"items[{n}].{attr}"] = FieldRead(str(cell), source, confidence)
        elif isinstance(value, dict):
            for attr, cell in value.items():
                if cell not in (None, ""):
                    out[f"{key}.{attr}"] = FieldRead(str(cell), source, confidence)
        elif value not in (None, ""):
            out[key] = FieldRead(str(value), source, confidence)
    return out


def document(reads: Reads) -> dict[str, Any]:
    """Readings -> a canonical JSON document (values only), for `invoice_from_json`."""
    doc: dict[str, Any] = {"seller": {"name": ""}, "buyer": {"name": ""}, "items": []}
    items: dict[int, dict[str, str]] = {}
    for path, read in reads.items():
        if m := _ITEM.match(path):
            items.setdefault(int(m.group(1)), {})[m.group(2)] = read.value
        elif "." in path:
            head, _, attr = path.partition(".")
            doc.setdefault(head, {})
            if isinstance(doc[head], dict):
                doc[head][attr] = read.value
        else:
            doc[path] = read.value
    for n in sorted(items):
        row = items[n]
        row.setdefault("name", "")
        doc["items"].append(row)
    if isinstance(doc.get("original"), dict):
        doc["original"].setdefault("code", "")
    return doc


def build(reads: Reads) -> tuple[Invoice | None, list[Finding]]:
    """The invoice the readings make, or None with a finding for each field that is missing or
    cannot be read."""
    return invoice_from_json(document(reads))


def apply_qr(reads: Reads, qr: QrPayload) -> list[Finding]:
    """Take kind, code, number, date, the amount (合计金额, or 价税合计 for 数电票) and the check code
    from the QR; each printed value that disagrees is a `source_mismatch`. A disagreement with a
    text layer is an error (the file contradicts itself); with OCR a warning (OCR misreads)."""
    findings: list[Finding] = []
    day = parse_date(qr.date)
    wanted: dict[str, str] = {
        "number": qr.number,
        "code": qr.code,
        "check_code": qr.check_code,
        "issue_date": day.isoformat() if day else "",
        "kind": qr.kind.value if qr.kind else "",
    }
    if qr.amount is not None:
        wanted["total" if qr.amount_is_total else "amount"] = format_fen(qr.amount)
    for path, value in wanted.items():
        if not value:
            continue
        before = reads.get(path)
        # the title names the kind loosely (普通/专用), the QR exactly: not a disagreement
        printed = before is not None and before.source != "qr" and path != "kind"
        if printed and not same(path, before.value, value):  # type: ignore[union-attr]
            findings.append(_mismatch(path, before, value))  # type: ignore[arg-type]
        reads[path] = FieldRead(value, "qr", 1.0)
    return findings


def _mismatch(path: str, before: FieldRead, qr_value: str) -> Finding:
    severity = Severity.ERROR if before.source == "text" else Severity.WARNING
    return finding(
        "source_mismatch",
        path,
        severity,
        first=before.source,
        first_value=before.value,
        second="QR",
        second_value=qr_value,
    )


def same(path: str, a: str, b: str) -> bool:
    """Two readings of one field agree (money by value, text ignoring spaces and case)."""
    if path in MONEY_FIELDS or path.endswith((".amount", ".tax")):
        try:
            return parse_yuan(a) == parse_yuan(b)
        except MoneyError:
            return False
    if path.endswith("tax_rate"):
        return normalise_rate(a) == normalise_rate(b)
    return "".join(a.split()).upper() == "".join(b.split()).upper()


def complete_totals(reads: Reads) -> None:
    """The one total a page left unread, from the other two (source `derived`)."""
    values: dict[str, int] = {}
    for key in ("amount", "tax", "total"):
        read = reads.get(key)
        if read is not None:
            with contextlib.suppress(MoneyError):
                values[key] = parse_yuan(read.value)
    confidence = min((reads[k].confidence for k in values), default=0.0) * 0.9
    if len(values) != 2:
        return
    if "total" not in values:
        reads["total"] = FieldRead(
            format_fen(values["amount"] + values["tax"]), "derived", confidence
        )
    elif "amount" not in values:
        reads["amount"] = FieldRead(
            format_fen(values["total"] - values["tax"]), "derived", confidence
        )
    else:
        reads["tax"] = FieldRead(
            format_fen(values["total"] - values["amount"]), "derived", confidence
        )


def _order(item: tuple[str, FieldRead]) -> tuple[int, int, str]:
    path = item[0]
    if m := _ITEM.match(path):
        return (1, int(m.group(1)), m.group(2))
    return (0, 0, path)
