"""The platform's 全量发票查询 export of tests/data/authority-export/ (copied from the shared samples,
made by other hands than the reader's), its company, and an invoice's own file as its issuer's
system would write it: for the tests of importing the export and completing its rows."""

from __future__ import annotations

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


def word_document() -> bytes:
    """A .docx as far as its package goes: a zip with [Content_Types].xml and its parts."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/"/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr("word/document.xml", "<w:document><w:body>会议纪要</w:body></w:document>")
    return buffer.getvalue()
