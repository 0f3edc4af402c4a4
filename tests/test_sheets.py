"""Every spreadsheet the project writes keeps party names that look like formulas (`=HYPERLINK(…)`,
`+…`, `-…`, `@…`) as text: each export is read back with openpyxl (xlsx: no formula cell, the name
intact as a text cell) or the csv module (the name behind an apostrophe), from the served app, the
command line and the writer itself."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from fapiao.authority.export_file import read_export, write_export
from fapiao.authority.records import record_from_invoice
from fapiao.ingest import import_paths
from fapiao.model import Party
from fapiao_dev.synth import make_uscc
from tests.conftest import run_cli, write_invoice
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]

HOSTILE = ['=HYPERLINK("http://x","点我")', "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)"]


def xlsx_texts(body: bytes) -> list[str]:
    """Every text cell of every sheet; fails on any formula cell."""
    book = load_workbook(io.BytesIO(body))
    texts = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    texts.append(cell.value)
    return texts


def csv_cells(text: str) -> list[str]:
    cells = [c for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for c in row]
    for c in cells:
        if c[:1] in ("=", "+", "@") or (c[:1] == "-" and not c[1:].replace(".", "").isdigit()):
            raise AssertionError(f"formula-like cell in CSV: {c!r}")
    return cells


def add_hostile(site: Site) -> list[Any]:
    """Four issued invoices of tenant A whose buyers carry the hostile names."""
    invoices = []
    for n, name in enumerate(HOSTILE):
        inv = site.factory_a.invoice(issued=True)
        inv = replace(inv, buyer=Party(name, make_uscc(random.Random(n))))
        write_invoice(site.tmp / "hostile" / f"{n}.json", inv)
        invoices.append(inv)
    summary = import_paths(site.ledger, [site.tmp / "hostile"])
    assert len(summary.imported) == len(HOSTILE)
    return invoices


def test_the_writer_keeps_formula_like_text_as_text() -> None:
    from fapiao import sheets

    rows = [[name, "-113.00", 5, "24110000000000000001"] for name in HOSTILE]
    texts = xlsx_texts(sheets.xlsx_bytes("t", ["name", "total", "n", "number"], rows))
    assert set(HOSTILE) <= set(texts)  # unchanged: a text cell, not an apostrophe in the value
    book = load_workbook(io.BytesIO(sheets.xlsx_bytes("t", ["name"], [[HOSTILE[0]]])))
    assert book.active["A2"].quotePrefix  # type: ignore[index]
    cells = csv_cells(sheets.csv_bytes(["name", "total"], rows).decode("utf-8"))
    assert {"'" + name for name in HOSTILE} <= set(cells)
    assert "-113.00" in cells  # an amount stays a number


def test_every_web_export_keeps_hostile_names_as_text(sqlite_site: Site, tmp_path: Path) -> None:
    site = sqlite_site
    invoices = add_hostile(site)
    b = site.browser()
    assert b.login("admin_a").status_code == 303
    for path in ("/invoices/export.xlsx", "/api/v1/invoices/export?format=xlsx"):
        resp = b.get(path)
        assert resp.status_code == 200, path
        assert set(HOSTILE) <= set(xlsx_texts(resp.content)), path
    for path in ("/invoices/export.csv", "/api/v1/invoices/export?format=csv"):
        resp = b.get(path)
        assert resp.status_code == 200, path
        assert {"'" + h for h in HOSTILE} <= set(csv_cells(resp.text)), path
    stats = b.get(f"/insight/stats.xlsx?tenant={site.tenant_a}")
    assert stats.status_code == 200
    assert set(HOSTILE) <= set(xlsx_texts(stats.content))  # the counterparties sheet names them
    # the reconcile report: the platform lists the hostile invoices with another total
    records = [replace(record_from_invoice(i), total=i.total + 1) for i in invoices]
    token = b.csrf("/reconcile")
    page = b.post(
        "/reconcile",
        data={"tenant": str(site.tenant_a), "csrf": token},
        files={"export": ("export.xlsx", write_export(records), "application/octet-stream")},
    )
    assert page.status_code == 200, page.text[:300]
    rid = page.text.split("/reconcile/report/")[1].split(".xlsx")[0]
    report = b.get(f"/reconcile/report/{rid}.xlsx")
    assert set(HOSTILE) <= set(xlsx_texts(report.content))


def test_cli_exports_keep_hostile_names_as_text(db_url: str, factory: Any, tmp_path: Path) -> None:
    run_cli(
        "--db", db_url, "tenant", "add", "--tax-id", factory.home.tax_id, "--name", "甲", check=True
    )
    invoices = []
    for n, name in enumerate(HOSTILE):
        inv = factory.invoice(issued=True, day=dt.date(2024, 6, 3))
        inv = replace(inv, buyer=Party(name, make_uscc(random.Random(n))))
        write_invoice(tmp_path / "in" / f"{n}.json", inv)
        invoices.append(inv)
    run_cli("--db", db_url, "import", str(tmp_path / "in"), check=True)
    listing = run_cli("--db", db_url, "list", "--csv", check=True).stdout
    assert {"'" + h for h in HOSTILE} <= set(csv_cells(listing))
    run_cli("--db", db_url, "stats", "--top", "0", "--xlsx", str(tmp_path / "s.xlsx"), check=True)
    assert set(HOSTILE) <= set(xlsx_texts((tmp_path / "s.xlsx").read_bytes()))
    export = tmp_path / "platform.xlsx"
    export.write_bytes(write_export([record_from_invoice(i) for i in invoices[:2]]))
    run_cli(
        "--db", db_url, "reconcile", "--authority", str(export), "--out", str(tmp_path / "r.xlsx")
    )
    assert set(HOSTILE[2:]) <= set(xlsx_texts((tmp_path / "r.xlsx").read_bytes()))


def test_the_platform_export_writes_and_reads_hostile_names_back_unchanged(factory: Any) -> None:
    invoices = [
        replace(inv, seller=replace(inv.seller, name=name))
        for inv, name in zip([factory.invoice() for _ in HOSTILE], HOSTILE, strict=True)
    ]
    records = [record_from_invoice(i) for i in invoices]
    xlsx = write_export(records, "xlsx")
    assert set(HOSTILE) <= set(xlsx_texts(xlsx))
    assert {"'" + h for h in HOSTILE} <= set(csv_cells(write_export(records, "csv").decode()))
    for fmt in ("xlsx", "csv"):
        back, found = read_export(write_export(records, fmt))
        assert not found and [r.seller.name for r in back] == HOSTILE, fmt
