"""Statistics per tenant and period through the CLI (JSON and xlsx) and the web page."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

from openpyxl import load_workbook

from fapiao.ingest import import_paths
from fapiao.ledger.store import Ledger
from fapiao.model import Status
from fapiao.money import format_fen, parse_yuan
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import run_cli, write_invoice
from tests.export_support import HOME, HOME_NAME, XLSX, own_invoice, write_json
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]


def test_stats_add_up_to_the_listing(ledger: Ledger, db_url: str, tmp_path: Path) -> None:
    f = InvoiceFactory(seed=31)
    ledger.add_tenant(tax_id=f.home.tax_id, name=f.home.name)
    invoices = [f.invoice() for _ in range(14)]
    invoices.append(f.red_of(invoices[0]))
    invoices.append(dataclasses.replace(f.invoice(issued=True), status=Status.VOID))
    for n, inv in enumerate(invoices):
        write_invoice(tmp_path / "in" / f"{n:03d}.json", inv)
    import_paths(ledger, [tmp_path / "in"])
    env = {"FAPIAO_DB": db_url}
    rows = json.loads(run_cli("list", "--json", env=env).stdout)
    report = json.loads(run_cli("stats", "--json", "--top", "0", env=env).stdout)
    (t,) = report["tenants"]
    assert t["invoices"] == len(rows) == 16
    for d in ("issued", "received"):
        mine = [r for r in rows if r["direction"] == d]
        assert t["totals"][d]["count"] == len(mine)
        assert t["totals"][d]["tax"] == format_fen(sum(parse_yuan(r["tax"]) for r in mine))
        assert sum(m[d]["count"] for m in t["by_month"]) == len(mine)
        parties = t["top_counterparties"][d]
        assert sum(p["count"] for p in parties) == len(mine)
    out_tax, in_tax = (parse_yuan(t["tax"][k]) for k in ("output", "input"))
    assert parse_yuan(t["tax"]["net"]) == out_tax - in_tax
    assert t["red"]["count"] == 1 and t["void"]["count"] == 1
    assert t["red"]["share"] == round(1 / 16, 4)
    lines = sum(len(r["items"]) for r in rows)
    assert (
        sum(c["lines"] for c in t["by_category"]) == lines == sum(r["lines"] for r in t["by_rate"])
    )
    assert {s["state"] for s in t["by_authority_state"]} == {"queued"}
    month = rows[0]["issue_date"][:7]
    narrow = json.loads(run_cli("stats", "--json", "--period", month, env=env).stdout)
    assert narrow["tenants"][0]["invoices"] == sum(r["issue_date"][:7] == month for r in rows)
    book = tmp_path / "stats.xlsx"
    run_cli("stats", "--xlsx", str(book), env=env, check=True)
    sheets = load_workbook(book, read_only=True).sheetnames
    assert {"概览 summary", "按月 months", "类别 categories", "税率 rates"} <= set(sheets)
    assert run_cli("stats", "--period", "2024-13", env=env).returncode == 2


def test_stats_page_draws_charts_for_granted_tenants_only(sqlite_site: Site) -> None:
    site = sqlite_site
    b = site.browser()
    b.login("viewer_a")
    page = b.get("/insight/stats")
    assert page.status_code == 200 and "<svg" in page.text
    assert site.factory_a.home.name in page.text and site.factory_b.home.name not in page.text
    assert "统计" in b.get("/").text  # in the navigation
    assert b.get(f"/insight/stats?tenant={site.tenant_b}").status_code == 404
    assert b.get("/insight/stats.xlsx").status_code == 403  # a viewer may not export
    a = site.browser()
    a.login("auditor_a")
    body = a.get("/insight/stats.xlsx", params={"period": "2024"})
    assert body.status_code == 200
    book = load_workbook(io.BytesIO(body.content), read_only=True)
    names = {row[0] for row in book["概览 summary"].iter_rows(min_row=2, values_only=True)}
    assert all(site.factory_a.home.name in n for n in names)
    assert a.get("/insight/stats", params={"period": "24"}).status_code == 400


def test_invoices_without_line_items_count_in_the_category_and_rate_sums(
    ledger: Ledger, db_url: str, tmp_path: Path
) -> None:
    """Rows of the platform's list are invoice heads without line items: their amounts still
    reach the per-category and per-rate tables (as 无明细), so every table adds up to the totals,
    and once an invoice's own file completes it, its lines take over."""
    ledger.add_tenant(tax_id=HOME, name=HOME_NAME)
    env = {"FAPIAO_DB": db_url}
    run_cli("import", str(XLSX), env=env, check=True)

    def stats() -> dict:
        report = json.loads(run_cli("stats", "--json", "--top", "0", env=env).stdout)
        (t,) = report["tenants"]
        return t

    def adds_up(t: dict) -> None:
        for table in ("by_category", "by_rate"):
            for key in ("amount", "tax"):
                summed = sum(parse_yuan(r[key]) for r in t[table])
                assert format_fen(summed) == t["totals"]["received"][key], (table, key)

    before = stats()
    adds_up(before)
    assert [(r["tax_rate"], r["lines"]) for r in before["by_rate"]] == [("", 0)]
    doc = own_invoice()
    own = write_json(tmp_path / "own.json", doc)
    run_cli("import", str(own), env=env, check=True)
    after = stats()
    adds_up(after)
    assert {(r["tax_rate"], r["lines"]) for r in after["by_rate"]} == {("", 0), ("0.06", 1)}
    it = next(r for r in after["by_category"] if r["category"] == "it_services")
    assert (it["invoices"], it["amount"]) == (1, doc["amount"])
