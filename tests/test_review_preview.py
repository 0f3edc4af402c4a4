"""The original's preview is bounded and never fails the page: junk in each format it sniffs gives
"no preview" (or text), quickly; real samples render."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from fapiao.review.preview import preview

SAMPLES = Path(__file__).parent / "data" / "samples"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            # a fixed time: the bytes (and so the test ids) must be the same in every worker
            z.writestr(
                zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED
            )
    return out.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n" + b"\x00" * 5000,
        b"\x89PNG\r\n\x1a\n",  # a bare signature is passed on as it is
        b"PK\x03\x04 not a zip",
        _zip({"OFD.xml": b"<ofd/>", "Doc_0/Res/big.png": b"\x00" * (11 * 1024 * 1024)}),
        _zip({"OFD.xml": b"<ofd/>", "Doc_0/Res/a.png": b"not an image"}),
        _zip({"word/document.xml": b"<w/>"}),
        b"GIF89a" + b"\xff" * 100,
        b"\xff\xfe\xfd binary",
    ],
    ids=[
        "pdf-zeros",
        "png-signature",
        "pk-junk",
        "ofd-big-image",
        "ofd-bad-image",
        "docx",
        "gif",
        "binary",
    ],
)
def test_junk_gets_no_preview_quickly(data: bytes) -> None:
    start = time.monotonic()
    pv = preview(data)
    assert time.monotonic() - start < 5
    assert pv.kind in ("none", "image", "text")
    if data.startswith(b"%PDF") or data.startswith(b"PK"):
        assert pv.kind == "none"


def test_an_ofd_shows_its_embedded_image_and_a_pdf_its_first_page() -> None:
    ofd = SAMPLES / "ofd" / "ofdrw-fapiao-shili.ofd"
    pdf = SAMPLES / "pdf" / "digital-special-hotel-taizhou.pdf"
    if not ofd.exists() or not pdf.exists():
        pytest.skip("samples not present")
    shown = preview(ofd.read_bytes())
    assert shown.kind == "image" and shown.body.startswith(b"\x89PNG")
    page = preview(pdf.read_bytes())
    assert page.kind == "image" and page.note == "pdf page 1" and len(page.body) > 10_000
