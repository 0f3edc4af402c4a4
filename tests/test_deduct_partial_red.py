"""A partly reversed (部分红冲) received invoice counts for its remaining 金额 and 税额 only: `deduct
status` (SQLite and PostgreSQL) sums the blue invoice net of its red invoice, by purpose, by rate
and per invoice marked 部分红冲; the month's page offers it with the same net amounts."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from fapiao.ingest import import_paths
from fapiao.ledger.store import Ledger
from fapiao.model import Identity, LineItem, Status
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import write_invoice
from tests.inbound_support import NOV, Books, make_books
from tests.test_web_support import Site, site

__all__ = ["site"]


def partly_reversed(ledger: Ledger, f: InvoiceFactory, tmp: Path) -> tuple[str, str]:
    """A blue invoice of 1,000.00 + 130.00 tax, and a red one reversing 300.00 + 39.00 of it."""
    base = f.invoice(issued=False, day=NOV + dt.timedelta(days=9))
    line = LineItem("*信息技术服务*软件开发", 100_000, "0.13", 13_000, unit="项", quantity="1",
                    unit_price="1000.00")  # fmt: skip
    blue = replace(base, amount=100_000, tax=13_000, total=113_000, items=(line,))
    red_base = f.red_of(blue)
    red_line = replace(line, amount=-30_000, tax=-3_900, quantity="-1", unit_price="300.00")
    red = replace(
        red_base,
        issue_date=NOV + dt.timedelta(days=12),
        amount=-30_000,
        tax=-3_900,
        total=-33_900,
        items=(red_line,),
        status=Status.RED,
        original=Identity(blue.code, blue.number),
    )
    write_invoice(tmp / "partial" / "blue.json", blue)
    write_invoice(tmp / "partial" / "red.json", red)
    summary = import_paths(ledger, [tmp / "partial"])
    assert len(summary.imported) == 2, summary
    return blue.identity.key, red.identity.key


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def test_status_counts_the_remaining_tax(books: Books, tmp_path: Path) -> None:
    blue, _red = partly_reversed(books.ledger, books.factory, tmp_path)
    t = str(books.tenant)
    rc, got = books.cli_json("deduct", "select", blue, "--tenant", t, "--period", "2024-11")
    assert rc == 0 and [s["key"] for s in got["selected"]] == [blue]

    rc, status = books.cli_json("deduct", "status", "--tenant", t, "--period", "2024-11")
    assert rc == 0
    assert status["purposes"]["deduct"] == {"count": 1, "amount": "700.00", "tax": "91.00"}
    assert status["by_rate"] == [
        {"purpose": "deduct", "tax_rate": "0.13", "count": 1, "amount": "700.00", "tax": "91.00"}
    ]
    (only,) = status["invoices"]
    assert (only["number"], only["amount"], only["tax"], only["reversal"]) == (
        blue, "700.00", "91.00", "partial",
    )  # fmt: skip

    text = books.cli("deduct", "status", "--tenant", t, "--period", "2024-11").stdout
    assert f"{blue} 部分红冲" in text and "税额 91.00" in text

    # the 统计确认 fixes the net figures
    rc, done = books.cli_json("deduct", "confirm", "--tenant", t, "--period", "2024-11")
    assert rc == 0 and done["purposes"]["deduct"]["tax"] == "91.00"


def test_fully_reversed_is_marked_and_refused(books: Books) -> None:
    """The fixture's fourth received invoice is reversed in full: its net is zero, and selecting
    it is refused as before."""
    from fapiao.deduct.status import candidates

    full = books.received[3]
    with books.ledger.engine.connect() as conn:
        rows = candidates(conn, tenant_id=books.tenant, period="2024-11", end=dt.date(2024, 11, 30))
    shown = {r["key"]: r for r in rows}
    assert shown[full.number]["reversal"] == "full"
    assert (shown[full.number]["amount_fen"], shown[full.number]["tax_fen"]) == (0, 0)
    assert all(r["reversal"] == "" for k, r in shown.items() if k != full.number)
    rc, got = books.cli_json("deduct", "select", full.number, "--tenant", str(books.tenant), "--period", "2024-11")  # fmt: skip
    assert rc == 1 and {f["code"] for f in got["refused"]} == {"deduct_not_normal"}


def test_month_page_offers_the_remaining_amounts(site: Site) -> None:
    blue, _red = partly_reversed(site.ledger, site.factory_a, site.tmp)
    b = site.browser()
    b.login("accountant_a")
    page = b.get(f"/deduct?tenant={site.tenant_a}&period=2024-11")
    assert page.status_code == 200
    row = page.text[page.text.index(f">{blue}</a>") :].split("</tr>", 1)[0]
    assert "部分红冲" in row and "700.00" in row and "91.00" in row
    # the ticking script adds what remains, not the blue invoice's face value
    tick = page.text[: page.text.index(f">{blue}</a>")].rsplit("<tr>", 1)[1]
    assert 'data-amount="70000"' in tick and 'data-tax="9100"' in tick
