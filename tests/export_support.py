"""The platform's 全量发票查询 export of tests/data/authority-export/ (copied from the shared samples,
made by other hands than the reader's), its company, and an invoice's own file as its issuer's
system would write it: for the tests of importing the export and completing its rows."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.conftest import run_cli

DATA = Path(__file__).parent / "data" / "authority-export"
XLSX = DATA / "全量发票查询-示例.xlsx"
CSV = DATA / "全量发票查询-示例.csv"
HOME, HOME_NAME = "91110108MA0TL7K20Q", "北京示例账务科技有限公司"  # the buyer on every row
CANONICAL = ("kind", "code", "number", "issue_date", "seller", "buyer", "amount", "tax", "total",
             "check_code", "status", "original", "items", "remarks", "issuer")  # fmt: skip


def own_invoice(number: str | None = None, *, item: str = "*信息技术服务*软件服务",
                rate: str = "0.06") -> dict[str, Any]:  # fmt: skip
    """The invoice of the export's row `number` (the first row when None) as its own file has it:
    the row read by `fapiao parse` (nothing stored), with one line item over the whole amount."""
    rows = json.loads(run_cli("parse", str(CSV), "--json", check=True).stdout)
    row = rows[0] if number is None else next(r for r in rows if r["number"] == number)
    doc = {k: v for k, v in row.items() if k in CANONICAL}
    doc["items"] = [
        {"name": item, "spec": "", "unit": "项", "quantity": "1", "unit_price": doc["amount"],
         "amount": doc["amount"], "tax_rate": rate, "tax": doc["tax"]}
    ]  # fmt: skip
    return doc


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def staff_list() -> bytes:
    """A workbook that is not the platform's list: the staff roster on the same desk."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["姓名", "部门", "工号"])
    book.active.append(["张三", "财务部", "0012"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def word_document() -> bytes:
    """A .docx as far as its package goes: a zip with [Content_Types].xml and its parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/"/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("word/document.xml", "<w:document><w:body>会议纪要</w:body></w:document>")
    return buffer.getvalue()


def xls_of(xlsx: bytes) -> bytes:
    """The same list as an Excel 97-2003 workbook (.xls), as older issuing software and platform
    pages give it, written by xlwt (not the reader's library): each sheet's cells as they are,
    but the date column as real date cells, which the xlsx holds as text."""
    from openpyxl import load_workbook
    from xlwt import Workbook, easyxf

    day = easyxf(num_format_str="yyyy-mm-dd hh:mm:ss")
    book = Workbook(encoding="utf-8")
    for source in load_workbook(io.BytesIO(xlsx), read_only=True).worksheets:
        sheet = book.add_sheet(source.title)
        dates = None
        for r, row in enumerate(source.iter_rows(values_only=True)):
            if dates is None and "开票日期" in row:
                dates = row.index("开票日期")
            for c, value in enumerate(row):
                if value is None:
                    continue
                if c == dates and r > 0 and isinstance(value, str):
                    sheet.write(r, c, dt.datetime.fromisoformat(value), day)
                else:
                    sheet.write(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
