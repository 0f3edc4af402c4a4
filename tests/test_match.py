"""Cross-tenant matching: the seller's issued and the buyer's received record of one invoice,
through the CLI and the web page, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from fapiao.ingest import import_paths
from fapiao.ledger import audit
from fapiao.ledger.store import Ledger
from fapiao.model import Kind
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice


def _import(ledger: Ledger, folder: Path, invoices: dict) -> None:  # type: ignore[type-arg]
    for name, inv in invoices.items():
        write_invoice(folder / f"{name}.json", inv)
    import_paths(ledger, [folder])


def test_both_sides_are_matched_and_differences_flagged(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    f = InvoiceFactory(seed=41)
    a, b, c = f.home, f.others[0], f.others[1]

    def sale(seller, buyer):  # type: ignore[no-untyped-def]
        inv = f.invoice(issued=True, kind=Kind.DIGITAL_SPECIAL)
        return dataclasses.replace(inv, seller=seller, buyer=buyer)

    lost_by_buyer, lost_by_seller, dated, fine = sale(a, c), sale(b, a), sale(a, c), sale(a, c)
    ledger.add_tenant(tax_id=a.tax_id, name=a.name)
    # only A keeps books yet: each of these is recorded on A's side alone
    _import(ledger, tmp_path / "first", {"y": lost_by_buyer, "w": lost_by_seller, "x": dated})
    ledger.add_tenant(tax_id=b.tax_id, name=b.name)
    ledger.add_tenant(tax_id=c.tax_id, name=c.name)
    redated = dataclasses.replace(dated, issue_date=dated.issue_date + dt.timedelta(days=2))
    _import(ledger, tmp_path / "second", {"x2": redated, "v": fine})
    env = {"FAPIAO_DB": db_url}
    proc = run_cli("match", "--json", env=env)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["pairs"] == 4 and report["matched"] == 1
    assert [e["number"] for e in report["missing_received"]] == [lost_by_buyer.number]
    assert [e["number"] for e in report["missing_issued"]] == [lost_by_seller.number]
    (diff,) = report["mismatched"]
    assert diff["number"] == dated.number and list(diff["fields"]) == ["issue_date"]
    assert diff["fields"]["issue_date"]["received"] == redated.issue_date.isoformat()
    assert "ask_copy" in [r["remedy"] for r in diff["remedies"]]
    assert report["missing_received"][0]["buyer"]["tax_id"] == c.tax_id
    shown = json.loads(run_cli("show", lost_by_buyer.number, "--json", env=env).stdout)
    assert [x["code"] for x in shown["findings"]] == ["counterpart_missing"]
    # the buyer takes the invoice into its books: the next match clears the finding
    _import(ledger, tmp_path / "third", {"y": lost_by_buyer})
    again = json.loads(run_cli("match", "--json", env=env).stdout)
    assert again["missing_received"] == [] and again["matched"] == 2
    shown = json.loads(run_cli("show", lost_by_buyer.number, "--json", env=env).stdout)
    assert shown["findings"] == []
    assert audit.verify(ledger.engine).ok


def test_match_page_shows_differences_of_granted_tenants(tmp_path: Path) -> None:
    from fapiao.ledger.db import open_engine
    from tests.test_web_support import build_site

    site, server = build_site(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tmp_path, per_tenant=2)
    try:
        fa = site.factory_a
        c = fa.others[0]
        sale = dataclasses.replace(fa.invoice(issued=True), buyer=c)
        _import(site.ledger, tmp_path / "x", {"s": sale})  # C keeps no books yet: A's side only
        b = site.browser()
        b.login("admin_a")
        assert "没有差异" in b.get("/insight/match").text
        site.ledger.add_tenant(tax_id=c.tax_id, name=c.name)
        text = b.get("/insight/match").text
        assert sale.number in text and "missing_received" in text
        seller_side = site.browser()
        seller_side.login("viewer_a")
        assert sale.number in seller_side.get("/insight/match").text
        other = site.browser()
        other.login("viewer_b")  # neither party is B's
        assert sale.number not in other.get("/insight/match").text
        assert audit.verify(open_engine(f"sqlite:///{tmp_path / 'ledger.sqlite'}")).ok
    finally:
        server.close()
        site.ledger.engine.dispose()
