"""Exports for a person: Chinese headers (the platform's own column names where it has one), codes as
words, amounts as numbers in xlsx (yuan, two decimals, thousands separated); the machine forms
(`list --csv --headers en`, the API export, `list --json`) keep field names and codes."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from fapiao.reconcile.report import to_xlsx
from tests.conftest import run_cli, write_invoice
from tests.test_reconcile_report import result
from tests.test_web_support import Site, sqlite_site

__all__ = ["sqlite_site"]

PLATFORM = [
    "发票代码",
    "发票号码",
    "开票日期",
    "销方识别号",
    "销方名称",
    "金额",
    "税额",
    "价税合计",
]


def test_cli_list_csv_in_chinese_and_for_scripts(db_url: str, factory: Any, tmp_path: Path) -> None:
    run_cli(
        "--db", db_url, "tenant", "add", "--tax-id", factory.home.tax_id, "--name", "甲", check=True
    )
    inv = factory.invoice(issued=True)
    write_invoice(tmp_path / "in" / "a.json", inv)
    run_cli("--db", db_url, "import", str(tmp_path / "in"), check=True)
    person = list(
        csv.DictReader(io.StringIO(run_cli("--db", db_url, "list", "--csv", check=True).stdout))
    )
    assert set(PLATFORM) <= set(person[0]) and "number" not in person[0]
    assert person[0]["发票号码"] == inv.number and person[0]["方向"] == "销项"
    assert person[0]["发票状态"] == "正常" and person[0]["价税合计"] == f"{inv.total / 100:.2f}"
    machine = run_cli("--db", db_url, "list", "--csv", "--headers", "en", check=True).stdout
    row = next(csv.DictReader(io.StringIO(machine)))
    assert (
        row["number"] == inv.number and row["direction"] == "issued" and row["status"] == "normal"
    )
    bad = run_cli("--db", db_url, "list", "--csv", "--headers", "fr")
    assert bad.returncode == 2 and "headers" in bad.stderr
    (doc,) = json.loads(run_cli("--db", db_url, "list", "--json", check=True).stdout)
    assert doc["direction"] == "issued" and doc["total"] == f"{inv.total / 100:.2f}"  # unchanged


def test_web_export_chinese_numbers_as_numbers_api_keeps_fields(sqlite_site: Site) -> None:
    b = sqlite_site.browser()
    b.login("accountant_a")
    text = b.get("/invoices/export.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert set(PLATFORM) <= set(rows[0]) and {r["方向"] for r in rows} <= {"销项", "进项"}
    sheet = load_workbook(io.BytesIO(b.get("/invoices/export.xlsx").content)).worksheets[0]
    head = [c.value for c in sheet[1]]
    assert set(PLATFORM) <= set(head)
    total = sheet.cell(2, head.index("价税合计") + 1)
    assert isinstance(total.value, int | float) and total.number_format == "#,##0.00"
    by_id = {r["台账编号"]: r for r in rows}
    row_id = str(sheet.cell(2, head.index("台账编号") + 1).value)
    assert Decimal(str(total.value)) == Decimal(by_id[row_id]["价税合计"])
    api = b.get("/api/v1/invoices/export", params={"format": "csv"}).content.decode("utf-8-sig")
    assert next(csv.DictReader(io.StringIO(api)))["direction"] in ("issued", "received")
    stats = load_workbook(io.BytesIO(b.get("/insight/stats.xlsx").content))["概览 summary"]
    first = [c.value for c in stats[2]]
    assert [c.value for c in stats[1]][:3] == ["企业", "方向", "张数"]
    assert first[1] in ("销项", "进项") and isinstance(first[5], int | float)
    assert stats.cell(2, 6).number_format == "#,##0.00"


def test_reconcile_report_totals_are_numbers() -> None:
    book = load_workbook(io.BytesIO(to_xlsx(result(), tenant="示例")))
    sheet = book["税务平台缺失"]
    head = [c.value for c in sheet[1]]
    cell = sheet.cell(2, head.index("价税合计") + 1)
    assert cell.value == 113 and cell.number_format == "#,##0.00"
