"""Scans and photos: magic-byte sniffing, QR first, OCR once per process, hostile images."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from fapiao.codec import invoice_to_json
from fapiao.model import Kind
from fapiao.parse import detect, image, parse_bytes
from fapiao.parse.ocr_engine import engine
from fapiao_dev.samples import invoices, render

CORPUS = invoices(12, seed=31)


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "BMP", "WEBP"])
def test_sniff_every_picture_format(fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buf, fmt)
    assert image.sniff(buf.getvalue()) and detect(buf.getvalue()) is image


def test_sniff_refuses_other_content() -> None:
    for data in (b"%PDF-1.7", b"<EInvoice/>", b"PK\x03\x04", b"", b"\x89PN"):
        assert not image.sniff(data)


def test_decompression_bomb_is_too_large_without_decoding() -> None:
    [parsed] = parse_bytes(_png_header(100_000, 100_000))
    assert parsed.invoice is None and [f.code for f in parsed.findings] == ["too_large"]


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, b"\xff\xd8\xff\xe0" + b"junk" * 20, b"BM" + b"\x01" * 40],
)
def test_broken_images_are_unreadable(data: bytes) -> None:
    [parsed] = parse_bytes(data)
    assert parsed.invoice is None
    assert [f.code for f in parsed.findings] == ["unreadable"]


def test_blank_picture_gives_findings_not_an_invoice() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buf, "PNG")
    [parsed] = image.parse(buf.getvalue())
    assert parsed.invoice is None and parsed.findings


def test_ocr_engine_is_loaded_once_and_its_models_ship_in_the_wheel() -> None:
    first = engine()
    assert engine() is first
    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    assert sorted(p.suffix for p in models.iterdir() if p.suffix == ".onnx")


@pytest.mark.parametrize(
    ("kind", "variant"),
    [(Kind.DIGITAL_SPECIAL, "rot90"), (Kind.VAT_ELECTRONIC_NORMAL, "skew")],
)
def test_turned_and_skewed_scans_read_exactly(kind: Kind, variant: str) -> None:
    inv = next(i for i in CORPUS if i.kind is kind)
    sample = render(inv, "png", variant=variant, seed=3)
    [parsed] = image.parse(sample.data)
    assert parsed.invoice is not None, parsed.findings
    got = invoice_to_json(parsed.invoice)
    got.pop("total_words", None)
    assert got == invoice_to_json(inv)


PHOTO = Path(__file__).parent / "data" / "samples" / "scan" / "photo-shenzhen-paper-normal.jpg"


@pytest.mark.parametrize("turn", [90, 270])
def test_a_real_phone_photo_without_a_qr_is_read_lying_on_either_side(turn: int) -> None:
    """A paper invoice photographed sideways (no QR to say which way is up): the page is turned
    until its number is found. Lying on one side it once read as a few wide boxes of noise and
    was only tried upside down."""
    expected = json.loads(PHOTO.with_name(PHOTO.name + ".expected.json").read_text("utf-8"))
    photo = Image.open(PHOTO).rotate(turn, expand=True)
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=92)
    [parsed] = image.parse(buffer.getvalue())
    assert parsed.invoice is not None, parsed.findings
    got = invoice_to_json(parsed.invoice)
    wanted = ("number", "issue_date", "amount", "tax", "total")
    assert {k: got[k] for k in wanted} == {k: expected[k] for k in wanted}
