"""The platform's 全量发票查询 export: read by header name, bad rows as findings, written back alike."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from fapiao.authority.export_file import COLUMNS, read_export, write_export
from fapiao.model import Identity, Kind, Status

EXPORTS = Path(__file__).parent / "data" / "samples" / "authority-export"
XLSX = (EXPORTS / "全量发票查询-示例.xlsx").read_bytes()
CSV = (EXPORTS / "全量发票查询-示例.csv").read_bytes()


@pytest.mark.parametrize("data", [XLSX, CSV], ids=["xlsx", "csv"])
def test_sample_export_reads_into_records(data: bytes) -> None:
    records, findings = read_export(data)
    assert findings == [] and len(records) == 12
    first = records[0]
    assert (first.code, first.number, first.kind) == (
        "",
        "25112000000013572468",
        Kind.DIGITAL_SPECIAL,
    )
    assert (first.amount, first.tax, first.total) == (2830189, 169811, 3000000)
    assert first.issue_date == dt.date(2025, 1, 8)
    blue, red = records[4], records[5]
    assert (blue.status, blue.platform_status) == (Status.NORMAL, "已红冲-全额")
    assert red.status is Status.RED and red.total == -1060000
    assert red.original == Identity("", "25442000000078900001")
    paper = records[8]
    assert (paper.code, paper.number, paper.kind) == ("5101243130", "02468135", Kind.VAT_SPECIAL)
    assert records[6].kind is Kind.VAT_ELECTRONIC_NORMAL


def test_xlsx_and_csv_agree() -> None:
    assert read_export(XLSX)[0] == read_export(CSV)[0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_written_export_reads_back_the_same(fmt: str) -> None:
    records, _ = read_export(XLSX)
    data = write_export(records, fmt)
    back, findings = read_export(data)
    assert findings == [] and back == records
    if fmt == "csv":
        assert data.startswith("\ufeff序号,发票代码".encode())
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(data))["发票基础信息"]
        assert tuple(c.value for c in sheet[1]) == COLUMNS
        assert sheet.cell(2, 10).number_format == "0.00"


def test_red_row_written_names_its_original() -> None:
    records, _ = read_export(CSV)
    red = records[5]
    bare = type(red)(**{**{f: getattr(red, f) for f in red.__dataclass_fields__}, "remarks": ""})
    [back], _ = read_export(write_export([bare], "csv"))
    assert back.original == red.original and back.status is Status.RED


def gbk_variant() -> bytes:
    """Reordered columns, an extra column, a title row, thousands separators, GBK, a total row."""
    lines = [
        "全量发票查询结果,,,,,,,,,,,,",
        "发票号码,开票日期,价税合计,税额,金额,购方识别号,购买方名称,销方识别号,销方名称,发票代码,数电发票号码,发票票种,经办人",
        '38217465,2024/06/30,"1,100.00",126.55,"973.45",91110108MA0TL7K20Q,北京示例,911101027368Q41A1R,北京样例,011002400111,,增值税电子普通发票,张三',
        ',2025-01-08,"30,000.00","1,698.11","28,301.89",91110108MA0TL7K20Q,北京示例,91110105MA0QX3N808,北京样例软件,,25112000000013572468,数电票（增值税专用发票）,李四',
        "合计,,,,,,,,,,,,",
    ]
    return "\r\n".join(lines).encode("gbk")


def test_tolerates_order_extra_columns_titles_separators_and_gbk() -> None:
    records, findings = read_export(gbk_variant())
    assert findings == []
    assert [(r.code, r.number, r.total) for r in records] == [
        ("011002400111", "38217465", 110000),
        ("", "25112000000013572468", 3000000),
    ]
    assert records[1].kind is Kind.DIGITAL_SPECIAL and records[1].amount == 2830189


def test_merged_title_rows_and_numeric_cells_in_xlsx() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "发票基础信息"
    sheet.append(["全量发票查询"])
    sheet.merge_cells("A1:L1")
    sheet.append(list(COLUMNS))
    sheet.append([1, 11002400111, 2468135, None, "91110108MA0TL7K20Q", "甲", "91110105MA0QX3N808",
                  "乙", dt.datetime(2024, 6, 30, 23, 59), 91.74, 8.26, Decimal("100.00"),
                  "", "增值税电子普通发票", "正常", "是", "", "", ""])  # fmt: skip
    buf = io.BytesIO()
    book.save(buf)
    [record], findings = read_export(buf.getvalue())
    assert findings == []
    assert (record.code, record.number) == ("011002400111", "02468135")
    assert (record.amount, record.tax, record.total) == (9174, 826, 10000)
    assert record.issue_date == dt.date(2024, 6, 30)


def test_bad_rows_are_findings_naming_the_row() -> None:
    text = "\ufeff" + ",".join(COLUMNS) + "\n"
    text += "1,,,25112000000013572468,A,甲,B,乙,2025-01-08,12.345,1.00,13.35,,,,,,,\n"
    text += "2,,,25112000000013579999,A,甲,B,乙,not a date,10.00,1.00,11.00,,,,,,,\n"
    text += "3,,,25112000000013570000,A,甲,B,乙,2025-01-09,10.00,1.00,11.00,,,,,,,\n"
    records, findings = read_export(text.encode())
    assert [r.number for r in records] == ["25112000000013570000"]
    assert {(f.code, f.field) for f in findings} == {
        ("field_invalid", "row 2: 金额"),
        ("date_invalid", "row 3: 开票日期"),
    }


@pytest.mark.parametrize(
    "data",
    [b"", b"name,age\nalice,3\n", b"\x00\x01\x02" * 100, b"PK\x03\x04broken"],
    ids=["empty", "other-csv", "binary", "broken-zip"],
)
def test_not_an_export_is_one_clear_finding(data: bytes) -> None:
    records, findings = read_export(data, name="x.csv")
    assert records == []
    assert len(findings) == 1 and findings[0].code in ("unsupported_format", "unreadable")


def test_xlsx_zip_bomb_is_refused_before_openpyxl() -> None:
    buf = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b" " * (20 * 1024 * 1024))
    records, findings = read_export(buf.getvalue())
    assert records == [] and [f.code for f in findings] == ["hostile"]
