"""The sample generator: every format, every kind, expected JSON that validates, real QR payloads."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from fapiao.codec import invoice_from_json
from fapiao.findings import has_errors
from fapiao.model import Kind, Status
from fapiao.parse.ofd_crosscheck import parse_payload
from fapiao.parse.pdf_qr import decode
from fapiao.validate import validate
from fapiao_dev.samples import invoices, qr_payload, render
from tests.conftest import run_cli


def test_corpus_covers_every_kind_red_and_markers() -> None:
    invs = invoices(60, seed=2)
    kinds = {inv.kind for inv in invs}
    assert {
        Kind.DIGITAL_SPECIAL,
        Kind.DIGITAL_NORMAL,
        Kind.VAT_ELECTRONIC_NORMAL,
        Kind.VAT_ELECTRONIC_SPECIAL,
    } <= kinds
    assert any(inv.status is Status.RED and inv.original for inv in invs)
    assert any(item.tax_rate == "exempt" for inv in invs for item in inv.items)
    for inv in invs:
        assert not has_errors(validate(inv)), inv


def test_qr_payload_has_the_real_shape() -> None:
    digital, older = invoices(3, seed=4)[0], invoices(3, seed=4)[2]
    payload = parse_payload(qr_payload(digital))
    assert payload is not None
    assert payload.kind_code in ("31", "32") and payload.code == "" and payload.check_code == ""
    assert payload.amount == digital.total and payload.number == digital.number
    old = parse_payload(qr_payload(older))
    assert old is not None and old.kind_code == "10"
    assert old.amount == older.amount and old.check_code == older.check_code
    assert qr_payload(digital).endswith(",") and qr_payload(digital).count(",") == 8


def test_cli_writes_every_format_with_expected_json(tmp_path: Path) -> None:
    proc = run_cli(
        "samples",
        "--out",
        str(tmp_path),
        "--count",
        "3",
        "--formats",
        "xml,ofd,pdf,png",
        "--seed",
        "5",
        "--json",
        check=True,
    )
    files = [Path(p) for p in json.loads(proc.stdout)]
    assert len(files) == 12
    for path in files:
        expected = json.loads(Path(str(path) + ".expected.json").read_text(encoding="utf-8"))
        inv, findings = invoice_from_json(expected)
        assert inv is not None and not findings
    xml = sorted((tmp_path / "xml").glob("*.xml"))
    assert xml[0].read_bytes().count(b"<EInvoice>") == 1  # the first invoice is a 数电票
    assert b"http://www.edrm.org.cn/schema/e-invoice/2019" in xml[2].read_bytes()


def test_cli_rejects_unknown_format(tmp_path: Path) -> None:
    proc = run_cli("samples", "--out", str(tmp_path), "--formats", "docx")
    assert proc.returncode == 2
    assert not list(tmp_path.iterdir())


def test_generation_is_deterministic() -> None:
    a, b = invoices(5, seed=9), invoices(5, seed=9)
    assert a == b
    assert render(a[0], "xml").data == render(b[0], "xml").data


def test_ofd_package_has_custom_data_tags_and_qr() -> None:
    inv = invoices(1, seed=6)[0]
    with zipfile.ZipFile(io.BytesIO(render(inv, "ofd").data)) as zf:
        names = set(zf.namelist())
        assert {"OFD.xml", "Doc_0/Document.xml", "Doc_0/Tags/CustomTag.xml"} <= names
        assert inv.number in zf.read("OFD.xml").decode()
        tags = zf.read("Doc_0/Tags/CustomTag.xml").decode()
        assert "<ofd:InvoiceNo>" in tags and "<ofd:TaxInclusiveTotalAmount>" in tags
        qr = Image.open(io.BytesIO(zf.read("Doc_0/Res/qr.png")))
        assert [text for text, _ in decode(qr)] == [qr_payload(inv)]


def test_pdf_has_text_layer_and_embedded_font() -> None:
    inv = invoices(1, seed=6)[0]
    data = render(inv, "pdf").data
    doc = pdfium.PdfDocument(data)
    text = doc[0].get_textpage().get_text_range()
    assert inv.number in text and inv.seller.name in text and "价税合计" in text
    assert b"/FontFile2" in data and b"STSong-Light" not in data  # embedded, never only named


def test_scan_variants_are_images_with_a_readable_qr() -> None:
    inv = invoices(1, seed=6)[0]
    for variant in ("clean", "rot90", "skew", "noise", "blur", "jpeg"):
        sample = render(inv, "png", variant=variant)
        image = Image.open(io.BytesIO(sample.data))
        assert image.format == ("JPEG" if variant == "jpeg" else "PNG")
        if variant == "rot90":
            assert image.height > image.width
        assert [text for text, _ in decode(image.convert("L"))] == [qr_payload(inv)]
