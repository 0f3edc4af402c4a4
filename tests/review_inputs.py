"""Inputs that end in the review queue, made the way real ones arrive: a PDF whose printed tax
does not add up, a photo of nothing but the QR code, canonical JSON with a field missing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from fapiao.codec import invoice_to_json
from fapiao.model import Invoice, Kind
from fapiao_dev.synth import InvoiceFactory


def wrong_tax_pdf(path: Path, inv: Invoice) -> tuple[Path, str]:
    """The invoice as a PDF with its 税额 printed one yuan too high (sum and lines disagree);
    returns the path and the right tax."""
    from fapiao.money import format_fen
    from fapiao_dev.samples.render_pdf import invoice_pdf

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(invoice_pdf(dataclasses.replace(inv, tax=inv.tax + 100)))
    return path, format_fen(inv.tax)


def qr_only_png(path: Path, inv: Invoice) -> Path:
    """A picture of the invoice's QR code and nothing else: kind, number, date and total."""
    import segno

    from fapiao_dev.samples.corpus import qr_payload

    path.parent.mkdir(parents=True, exist_ok=True)
    segno.make(qr_payload(inv), error="m").save(str(path), scale=8, border=4)
    return path


def missing_field_json(path: Path, inv: Invoice, missing: str = "total") -> Path:
    doc = invoice_to_json(inv)
    del doc[missing]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def digital(factory: InvoiceFactory, *, issued: bool = True) -> Invoice:
    return factory.invoice(issued=issued, kind=Kind.DIGITAL_SPECIAL)
