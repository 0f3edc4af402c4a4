"""PDF invoices: text layer by position, QR cross-check, scanned pages, hostile files."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from fapiao.codec import invoice_to_json
from fapiao.model import Kind, Status
from fapiao.parse import detect, parse_bytes, pdf
from fapiao_dev.samples import invoices, qr_payload
from fapiao_dev.samples.render_pdf import invoice_pdf
from fapiao_dev.samples.render_scan import render_page

CORPUS = invoices(24, seed=21)


def _core(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k != "total_words"}


def test_sniff_by_content() -> None:
    data = invoice_pdf(CORPUS[0])
    assert pdf.sniff(data) and detect(data) is pdf
    assert not pdf.sniff(b"<EInvoice/>") and not pdf.sniff(b"PK\x03\x04")


@pytest.mark.parametrize(
    "kind",
    [
        Kind.DIGITAL_SPECIAL,
        Kind.DIGITAL_NORMAL,
        Kind.VAT_ELECTRONIC_NORMAL,
        Kind.VAT_ELECTRONIC_SPECIAL,
    ],
)
def test_every_kind_parses_exactly(kind: Kind) -> None:
    inv = next(i for i in CORPUS if i.kind is kind and i.status is Status.NORMAL)
    [parsed] = pdf.parse(invoice_pdf(inv))
    assert parsed.findings == []
    assert parsed.invoice is not None
    assert _core(invoice_to_json(parsed.invoice)) == invoice_to_json(inv)


def test_red_invoice_names_its_blue_one() -> None:
    red = next(i for i in CORPUS if i.status is Status.RED)
    [parsed] = pdf.parse(invoice_pdf(red))
    assert parsed.invoice is not None
    assert parsed.invoice.status is Status.RED and parsed.invoice.original == red.original
    assert parsed.invoice.total == red.total < 0


def test_qr_disagreeing_with_text_is_a_finding_with_both_values() -> None:
    inv = next(i for i in CORPUS if i.kind is Kind.DIGITAL_SPECIAL)
    forged = qr_payload(replace(inv, total=inv.total + 10000))
    [parsed] = pdf.parse(invoice_pdf(inv, qr=forged))
    [mismatch] = [f for f in parsed.findings if f.code == "source_mismatch"]
    assert mismatch.field == "total"
    assert f"{inv.total // 100}." in mismatch.message_en
    assert f"{(inv.total + 10000) // 100}." in mismatch.message_en
    assert "QR" in mismatch.message_en


def test_qr_with_another_number_and_date_names_both_fields() -> None:
    inv = next(i for i in CORPUS if i.kind is Kind.VAT_ELECTRONIC_NORMAL)
    other = replace(inv, number="99999999", issue_date=inv.issue_date.replace(day=1))
    [parsed] = pdf.parse(invoice_pdf(inv, qr=qr_payload(other)))
    fields = {f.field for f in parsed.findings if f.code == "source_mismatch"}
    assert "number" in fields
    assert ("issue_date" in fields) == (inv.issue_date.day != 1)


def _pdf(pages: int = 1, size: tuple[float, float] = (595, 420), **kw: object) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=size, **kw)  # type: ignore[arg-type]
    for _ in range(pages):
        c.drawString(50, 50, "not an invoice")
        c.showPage()
    c.save()
    return buf.getvalue()


def test_encrypted_pdf_is_unreadable() -> None:
    [parsed] = parse_bytes(_pdf(encrypt="secret"))
    assert parsed.invoice is None
    assert [f.code for f in parsed.findings] == ["unreadable"]
    assert "encrypted" in parsed.findings[0].message_en


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_pdf_gives_a_finding(cut: float) -> None:
    data = invoice_pdf(CORPUS[0])
    [parsed] = parse_bytes(data[: int(len(data) * cut)])
    assert parsed.invoice is None or parsed.findings
    assert all(
        f.code
        in (
            "unreadable",
            "field_missing",
            "source_mismatch",
            "date_invalid",
            "field_invalid",
            "tax_rate_invalid",
        )
        for f in parsed.findings
    )
    if cut < 0.5:
        assert parsed.invoice is None


def test_too_many_pages_and_huge_pages_are_too_large() -> None:
    [many] = parse_bytes(_pdf(pages=pdf.MAX_PAGES + 1))
    assert [f.code for f in many.findings] == ["too_large"]
    [huge] = parse_bytes(_pdf(size=(14000, 14000)))
    assert [f.code for f in huge.findings] == ["too_large"]


def test_pdf_without_invoice_text_is_unreadable() -> None:
    [parsed] = parse_bytes(_pdf(pages=2, size=(595, 842)))
    assert parsed.invoice is None and parsed.findings


def test_scanned_pdf_goes_through_ocr() -> None:
    inv = next(i for i in CORPUS if i.kind is Kind.DIGITAL_NORMAL)
    image = render_page(invoice_pdf(inv))
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=150)
    [parsed] = pdf.parse(buf.getvalue())
    assert parsed.invoice is not None
    assert (parsed.invoice.number, parsed.invoice.total) == (inv.number, inv.total)
    assert parsed.invoice.seller == inv.seller and parsed.invoice.buyer == inv.buyer


def test_image_only_page_size_check_precedes_rendering() -> None:
    big = Image.new("L", (10, 10), 255)
    buf = io.BytesIO()
    big.save(buf, "PDF", resolution=0.05)  # 10 px at 0.05 dpi: a 14 400 pt page
    [parsed] = pdf.parse(buf.getvalue())
    assert [f.code for f in parsed.findings] == ["too_large"]
