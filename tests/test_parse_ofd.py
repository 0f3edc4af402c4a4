"""OFD: sources inside one file are cross-checked; odd but harmless files are tolerated."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fapiao.parse import detect, ofd, parse_bytes

OFD_DIR = Path(__file__).parent / "data" / "samples" / "ofd"


def rewrite(
    data: bytes, changes: dict[str, bytes | None], extra: dict[str, bytes] | None = None
) -> bytes:
    """A copy of a zip with some members replaced (None drops one) and others added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename in changes:
                if changes[info.filename] is not None:
                    dst.writestr(info.filename, changes[info.filename])
                continue
            dst.writestr(info, src.read(info))
        for name, body in (extra or {}).items():
            dst.writestr(name, body)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def test_ofd_is_detected_before_the_generic_zip() -> None:
    data = (OFD_DIR / "ofdrw-1.ofd").read_bytes()
    assert detect(data) is ofd


def test_customdata_disagreeing_with_page_text_and_qr_names_both_values() -> None:
    data = (OFD_DIR / "ofdrw-fapiao-shili.ofd").read_bytes()
    meta = member(data, "OFD.xml").replace(b">24112000000048542163<", b">24112000000048540000<")
    [parsed] = parse_bytes(rewrite(data, {"OFD.xml": meta}))
    assert parsed.invoice is not None and parsed.invoice.number == "24112000000048540000"
    mismatches = [f for f in parsed.findings if f.code == "source_mismatch"]
    assert {f.field for f in mismatches} == {"number"}
    seconds = " ".join(f.message_en for f in mismatches)
    assert "page text" in seconds and "QR" in seconds
    assert "24112000000048542163" in seconds and "24112000000048540000" in seconds


def test_attachment_disagreeing_with_customdata_is_a_finding() -> None:
    data = (OFD_DIR / "ofdrw-1.ofd").read_bytes()
    meta = member(data, "OFD.xml").replace(b">510.68<", b">501.68<")
    [parsed] = parse_bytes(rewrite(data, {"OFD.xml": meta}))
    [found] = [f for f in parsed.findings if f.code == "source_mismatch"]
    assert found.field == "amount"
    assert "510.68" in found.message_en and "501.68" in found.message_en


def test_without_attachment_or_tags_falls_back_and_without_anything_is_unreadable() -> None:
    data = (OFD_DIR / "ofdrw-1.ofd").read_bytes()
    no_attachment = rewrite(data, {"Doc_0/Attachs/original_invoice.xml": None})
    [parsed] = parse_bytes(no_attachment)
    inv = parsed.invoice
    assert inv is not None and parsed.findings == []
    assert (inv.code, inv.number, inv.total, inv.check_code) == (
        "033002000211",
        "83089647",
        52600,
        "16197833567414507415",
    )
    bare = rewrite(
        data,
        {
            "Doc_0/Attachs/original_invoice.xml": None,
            "Doc_0/Tags/CustomTag.xml": None,
            "OFD.xml": b'<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016">'
            b"<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        },
    )
    [empty] = parse_bytes(bare)
    assert empty.invoice is None and [f.code for f in empty.findings] == ["unreadable"]


def test_malformed_member_xml_is_tolerated() -> None:
    data = (OFD_DIR / "ofdrw-fapiao-shili.ofd").read_bytes()
    broken = member(data, "Doc_0/Document.xml").replace(b"</ofd:Document>", b"")
    [parsed] = parse_bytes(rewrite(data, {"Doc_0/Document.xml": broken}))
    assert parsed.invoice is not None and parsed.invoice.number == "24112000000048542163"


def test_path_traversal_inside_an_ofd_is_hostile() -> None:
    data = (OFD_DIR / "ofdrw-1.ofd").read_bytes()
    for name in ("../../etc/passwd", "/abs/name.xml", "Doc_0\\..\\x.xml"):
        [parsed] = parse_bytes(rewrite(data, {}, {name: b"x"}))
        assert parsed.invoice is None
        assert [f.code for f in parsed.findings] == ["hostile"], name


def test_dtd_in_an_attachment_is_hostile() -> None:
    data = (OFD_DIR / "ofdrw-1.ofd").read_bytes()
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><eInvoice>&e;</eInvoice>'
    [parsed] = parse_bytes(rewrite(data, {"Doc_0/Attachs/original_invoice.xml": evil}))
    assert parsed.invoice is None and [f.code for f in parsed.findings] == ["hostile"]
