"""Printouts: `fapiao print` writes one invoice or a filtered list to PDF (checked by extracting the
PDF's text with pypdfium2), on SQLite and PostgreSQL; the web serves the same PDFs in the caller's
tenant scope; hostile text is printed as text."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium

from fapiao import vocabulary
from fapiao.codec import invoice_to_json
from fapiao.ledger.store import Ledger
from fapiao.money import parse_yuan, to_words
from fapiao.printing import invoice_pdf, list_pdf
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice
from tests.test_web_support import Site, site

__all__ = ["site"]


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    doc = pdfium.PdfDocument(data)
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def flat(text: str) -> str:
    """Text without the line breaks a table cell's wrapping puts inside names and numbers."""
    return "".join(text.split())


def test_cli_prints_one_invoice_and_a_filtered_list(
    ledger: Ledger, factory: InvoiceFactory, db_url: str, tmp_path: Path
) -> None:
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    invoices = [factory.invoice(issued=n % 3 != 0) for n in range(9)]
    for n, inv in enumerate(invoices):
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
    run_cli("--db", db_url, "import", str(tmp_path / "in"), check=True)

    target = invoices[0]
    one = tmp_path / "one.pdf"
    ref = target.identity.key  # 发票号码, or 发票代码-发票号码 as `show` takes it
    done = run_cli("--db", db_url, "print", ref, "--out", str(one), "--json", check=True)
    assert json.loads(done.stdout) == {"file": str(one), "invoices": 1, "truncated": False}
    text = flat(pdf_text(one.read_bytes()))
    for expected in (
        target.number,
        target.seller.name,
        target.buyer.name,
        target.seller.tax_id,
        target.buyer.tax_id,
        "价税合计（大写）",
        to_words(target.total),
        f"¥{vocabulary.fen(target.total)}",
        target.items[0].name,
        f"开票人：{target.issuer}",
    ):
        assert flat(expected) in text, expected

    issued = [inv for inv in invoices if inv.seller.tax_id == factory.home.tax_id]
    listing = tmp_path / "issued.pdf"
    run_cli("--db", db_url, "print", "direction=issued", "--out", str(listing), check=True)
    text = flat(pdf_text(listing.read_bytes()))
    assert all(inv.number in text for inv in issued)
    assert not any(inv.number in text for inv in invoices if inv not in issued)
    assert f"合计（不含作废）：{len(issued)}张" in text
    assert vocabulary.fen(sum(inv.total for inv in issued)) in text  # thousands separated

    assert run_cli("--db", db_url, "print", "0000", "--out", str(one)).returncode == 1
    bad = run_cli("--db", db_url, "print", "period=2024-13", "--out", str(one))
    assert bad.returncode == 2 and "bad filter" in bad.stderr
    nowhere = run_cli("--db", db_url, "print", "q=x", "--out", str(tmp_path / "no" / "x.pdf"))
    assert nowhere.returncode == 2


def test_hostile_text_is_printed_as_text_and_odd_values_do_not_break_it() -> None:
    doc = invoice_to_json(InvoiceFactory(seed=5).invoice())
    doc["remarks"] = "<b>合同</b> & <font size=40>大</font> <br/>"
    doc["items"][0]["name"] = "*测试*<para>"
    doc["items"][0]["tax_rate"] = None
    doc["total"] = "not money"
    doc["seller"]["name"] = 12345
    text = pdf_text(invoice_pdf(doc))
    assert "<b>合同</b> & <font size=40>大</font>" in text
    assert "*测试*<para>" in text and "12345" in text
    rows = [
        {"number": "1", "amount": "1.00", "tax": None, "total": 7, "status": "void"},
        {"number": "2", "amount": "2.50", "tax": "0.50", "total": "3.00", "direction": "issued"},
    ]
    body, count, cut = list_pdf(rows, max_rows=1)
    assert (count, cut) == (1, True)
    assert "仅列出前1张" in flat(pdf_text(body))
    body, count, cut = list_pdf(rows)
    text = flat(pdf_text(body))
    assert "作废：1张（不计入合计）" in text and "合计（不含作废）：1张" in text


def test_web_pdf_links_follow_the_callers_tenants(site: Site) -> None:
    b = site.browser()
    b.login("viewer_a")
    page = b.get("/invoices").text
    assert 'id="list-pdf"' in page
    rows = b.get("/api/v1/invoices", params={"limit": 200}).json()["items"]
    target = rows[0]
    detail = b.get(f"/invoices/{target['id']}").text
    assert f'href="/invoices/{target["id"]}/print.pdf"' in detail
    assert (
        f'href="/invoices/{target["id"]}/print.pdf"'
        in b.get(f"/invoices/{target['id']}/print").text
    )
    one = b.get(f"/invoices/{target['id']}/print.pdf")
    assert one.status_code == 200 and one.headers["content-type"] == "application/pdf"
    text = flat(pdf_text(one.content))
    assert target["number"] in text and to_words(parse_yuan(target["total"])) in text
    assert b.get(f"/invoices/{site.b_ids[0]}/print.pdf").status_code == 404  # tenant B's
    whole = b.get("/invoices/print.pdf", params={"direction": target["direction"]})
    text = flat(pdf_text(whole.content))
    same = [r for r in rows if r["direction"] == target["direction"]]
    assert all(r["number"] in text for r in same)
    assert f"合计（不含作废）：{len(same)}张" in text


def test_a_printed_list_shows_each_invoices_states(
    ledger: Ledger, factory: InvoiceFactory, db_url: str, tmp_path: Path
) -> None:
    """The 状态 column carries the states the capabilities keep (勾选 here, with its period), as the
    list page does, for the printout a clerk files; a state filter prints only its invoices."""
    tenant, _ = ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    received = [factory.invoice(issued=False) for _ in range(3)]
    for n, inv in enumerate(received):
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
    run_cli("--db", db_url, "import", str(tmp_path / "in"), check=True)
    chosen, period = received[0].identity.key, f"{received[0].issue_date:%Y-%m}"
    select = ("deduct", "select", chosen, "--tenant", str(tenant), "--period", period)
    run_cli("--db", db_url, *select, check=True)

    listing = tmp_path / "received.pdf"
    run_cli("--db", db_url, "print", "direction=received", "--out", str(listing), check=True)
    text = flat(pdf_text(listing.read_bytes()))
    assert text.count("已勾选") == 1 and text.count("未勾选") == 2
    assert f"已勾选{period}抵扣" in text  # the 状态 cell: 正常 · 已勾选 2025-02 抵扣 未确认

    picked = tmp_path / "selected.pdf"
    run_cli("--db", db_url, "print", "state=selected", "--out", str(picked), check=True)
    text = flat(pdf_text(picked.read_bytes()))
    assert received[0].number in text and received[1].number not in text
    assert "include=" not in text  # the subtitle shows the user's filter only
