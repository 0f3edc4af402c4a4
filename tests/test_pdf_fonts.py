"""Every generated PDF shows its Chinese text in any reader: the CJK font is embedded as a subset.

Checked with poppler (`pdftotext`, `pdffonts`), the reader that shows blank text for a font that is
only named (reportlab's STSong-Light): the invoice printout, the list printout, the 情况说明 and a
sample invoice; and without the font file, no PDF is made and the error says what to install.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fapiao.codec import invoice_to_json
from fapiao.contingency.incidents import open_incident
from fapiao.ingest import import_paths
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
from fapiao.model import Invoice
from fapiao.money import format_fen
from fapiao.sync.drafts import record_drafts
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]

pytestmark = pytest.mark.skipif(
    not shutil.which("pdftotext") or not shutil.which("pdffonts"), reason="poppler-utils missing"
)


def poppler_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True)
    assert done.returncode == 0, done.stderr
    return "".join(done.stdout.decode("utf-8").split())  # table cells wrap inside names


def fonts(pdf: Path) -> list[dict[str, str]]:
    """pdffonts' table: name, type, encoding, emb, sub, uni (columns cut by the header's dashes)."""
    lines = subprocess.run(
        ["pdffonts", str(pdf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    header, dashes, rows = lines[0], lines[1], lines[2:]
    spans, start = [], 0
    for part in dashes.split(" "):
        spans.append((start, start + len(part)))
        start += len(part) + 1
    names = [header[a:b].strip() for a, b in spans]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)} for row in rows]


BASE14 = {"Helvetica", "Times-Roman", "Courier", "Symbol", "ZapfDingbats"}


def assert_embedded(pdf: Path) -> None:
    found = fonts(pdf)
    cjk = [f for f in found if "WenQuanYi" in f["name"]]
    assert cjk, found
    for f in cjk:
        assert f["emb"] == "yes" and f["sub"] == "yes", f  # an embedded subset
    # reportlab names Helvetica in every document's resources; a reader always has that one
    assert all(f["emb"] == "yes" or f["name"] in BASE14 for f in found), found


@pytest.fixture
def book(tmp_path: Path) -> Iterator[tuple[str, Ledger, InvoiceFactory, Invoice]]:
    """A SQLite ledger (the PDFs do not depend on the engine) with one issued invoice."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    engine = open_engine(url)
    led, factory = Ledger(engine, actor="test"), InvoiceFactory(seed=11)
    led.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    inv = factory.invoice(issued=True)
    import_paths(led, [write_invoice(tmp_path / "in" / "a.json", inv)])
    yield url, led, factory, inv
    engine.dispose()


def test_printouts_and_statement_show_their_text_in_poppler(book, tmp_path: Path) -> None:
    db, led, factory, inv = book
    one = tmp_path / "one.pdf"
    run_cli("--db", db, "print", inv.identity.key, "--out", str(one), check=True)
    text = poppler_text(one)
    # amounts print with thousands separators (19,411.04)
    for expected in (inv.seller.name, inv.buyer.name, "价税合计", f"{inv.total / 100:,.2f}"):
        assert "".join(expected.split()) in text, expected
    assert_embedded(one)

    listing = tmp_path / "list.pdf"
    run_cli("--db", db, "print", "direction=issued", "--out", str(listing), check=True)
    text = poppler_text(listing)
    assert "合计" in text and inv.number in text and f"{inv.total / 100:,.2f}" in text
    assert_embedded(listing)

    # the 情况说明: an incident with one invoice waiting in the outbox to be issued
    incident = open_incident(led, tenant_id=None, title="税务平台中断")
    queued = factory.invoice(issued=True)
    doc = invoice_to_json(queued)
    doc["number"], doc["code"], doc["check_code"] = "", "", ""
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert [o.id is not None for o in record_drafts(led, [draft])] == [True]
    statement = tmp_path / "statement.pdf"
    run_cli("--db", db, "incident", "statement", str(incident), "--out", str(statement), check=True)
    text = poppler_text(statement)
    assert "情况说明" in text and factory.home.name in text
    assert format_fen(queued.total) in text
    assert_embedded(statement)


def test_sample_invoice_pdf_embeds_its_font(tmp_path: Path) -> None:
    from fapiao_dev.samples.render_pdf import invoice_pdf as render_invoice_pdf

    inv = InvoiceFactory(seed=7).invoice()
    pdf = tmp_path / "sample.pdf"
    pdf.write_bytes(render_invoice_pdf(inv))
    text = poppler_text(pdf)
    assert "".join(inv.seller.name.split()) in text and format_fen(inv.total) in text
    assert_embedded(pdf)


def test_without_the_font_file_no_pdf_and_a_clear_error(book, tmp_path: Path) -> None:
    db, _led, _factory, inv = book
    out = tmp_path / "one.pdf"
    gone = str(tmp_path / "no-such-font.ttc")
    proc = run_cli(
        "--db", db, "print", inv.identity.key, "--out", str(out), env={"FAPIAO_CJK_FONT": gone}
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "pdf_font_missing" in proc.stderr and gone in proc.stderr
    assert "fonts-wqy-zenhei" in proc.stderr
    assert not out.exists()


def test_web_refuses_a_pdf_without_its_font(sqlite_site: Site, monkeypatch) -> None:
    b = sqlite_site.browser()
    b.login("viewer_a")
    path = f"/invoices/{sqlite_site.a_ids[0]}/print.pdf"
    assert b.get(path).status_code == 200
    monkeypatch.setenv("FAPIAO_CJK_FONT", "/nowhere/font.ttc")
    refused = b.get(path)
    assert refused.status_code == 503 and "fonts-wqy-zenhei" in refused.text
    assert not refused.content.startswith(b"%PDF")
