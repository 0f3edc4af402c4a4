"""The column-wise export reading gives exactly what reading the export a row at a time gives."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import openpyxl
import pytest

from fapiao.authority import export_rows
from fapiao.authority.export_file import COLUMNS, read_export
from fapiao.authority.export_table import read_export_table


def row_by_row(rows: list[list[object]]) -> tuple[list[object], list[tuple[str, str]]]:
    at, columns = export_rows.find_header(rows)
    assert columns is not None
    records, findings = [], []
    for index, row in enumerate(rows[at + 1 :], start=at + 2):
        values = {col: export_rows.cell(row, k) for col, k in columns.items()}
        if export_rows.is_skipped(values):
            continue
        record, problems = export_rows.read_row(values, index)
        findings += [(p.field, p.message) for p in problems]
        if record is not None:
            records.append(record)
    return records, findings


def csv_bytes(rows: list[list[str]], *, bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def reads_as_row_by_row(data: bytes, rows: list[list[str]]) -> tuple[list[object], list[object]]:
    """Asserts the column-wise reading of `data` gives the records and findings (with their row
    numbers) that reading `rows` one by one gives; returns them."""
    records, findings = read_export(data)
    want_records, want_findings = row_by_row(rows)
    assert records == want_records
    assert [(f.field, f.message) for f in findings] == want_findings
    return records, findings


@pytest.fixture
def small_chunks(monkeypatch) -> None:
    """A CSV read in dozens of Arrow blocks of 8 KiB, converted in chunks of a few blocks each."""
    from fapiao.authority import export_table

    monkeypatch.setattr(export_table, "CSV_BLOCK", 8192)
    monkeypatch.setattr(export_table, "CSV_CHUNK_ROWS", 100)


def varied_rows(rng: random.Random, n: int) -> list[list[str]]:
    def pick(*options: str) -> str:
        return rng.choice(options)

    rows = [["全量发票查询"], list(COLUMNS)]
    for i in range(n):
        rows.append([
            str(i), pick("", "011001900111", "'=1"),
            pick("24000000000000000001", "12345678", "", "abc", "2400000000000000000１"),
            pick("", "24000000000000000003"), pick("91110108MA0TL7K20Q", "91110108ma0tl7k20q"),
            pick("甲", "'=HYPERLINK()", "a,b", " 乙 "), "91310000000000000X", "乙",
            pick("2024-01-02", "20240102", "2024年1月2日", "2024/01/02", "2024-02-30",
                 "2024-01-02 10:00:00", "x"),
            pick("1,234.50", "12.3", "-5.00", "7", "1.234", "abc", "", " 99.99 ", "¥5.00", "+3"),
            pick("13.00", "0.10", "1e3"), pick("", "126.00", "1,000.00"), "电子发票服务平台",
            pick("数电发票（增值税专用发票）", "增值税电子普通发票", "其他"),
            pick("正常", "已作废", "已红冲-全额"), pick("是", "否"), "正常", "",
            pick("", "被红冲蓝字数电发票号码：24000000000000000009"),
        ])  # fmt: skip
        if i % 97 == 0:
            rows.append(["合计"] + [""] * 18)
        if i % 89 == 0:
            rows.append([""] * 19)
    return rows


def test_csv_column_wise_equals_row_by_row() -> None:
    rows = varied_rows(random.Random(7), 1500)
    records, findings = reads_as_row_by_row(csv_bytes(rows, bom=True), rows)
    assert len(records) > 300 and len(findings) > 300  # both kinds of row are there


def test_xlsx_cells_of_every_type_read_as_row_by_row() -> None:
    rng = random.Random(3)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "发票基础信息"
    sheet.append(["全量发票查询导出"])
    sheet.append([])
    sheet.append(list(COLUMNS))
    for i in range(600):
        sheet.append([
            i, rng.choice([None, 11001900111, "011001900111"]),
            rng.choice([12345678, 1234567, "24000000000000000001", None]),
            rng.choice([None, "24000000000000000003"]), "91110108MA0TL7K20Q", "甲",
            "91310000000000000X", "乙",
            rng.choice([dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 10, 0), 45300, 45300.5,
                        "2024-01-02", "2024年1月2日", 20240102, None]),
            rng.choice([113, 113.5, 0.1, 1.005, "1,234.00", 1e14, True, None, -5]),
            rng.choice([13, 13.0, "1.3"]), rng.choice([None, 126, 126.0]), "电子发票服务平台",
            rng.choice(["数电发票（增值税专用发票）", "增值税专用发票"]), rng.choice(["正常", "已作废"]),
            rng.choice(["是", "否"]), "正常", None, None,
        ])  # fmt: skip
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    rows = [
        list(r) for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
    ]
    records, findings = read_export(data)
    want_records, want_findings = row_by_row(rows)
    assert len(records) > 100 and len(findings) > 100
    assert records == want_records
    assert [(f.field, f.message) for f in findings] == want_findings


def test_table_numbers_rows_by_position_and_keeps_file_order() -> None:
    rows = varied_rows(random.Random(11), 300)
    table, _ = read_export_table(csv_bytes(rows))
    assert table.column("rn").to_pylist() == list(range(table.num_rows))
    assert [r.identity.key for r in row_by_row(rows)[0]] == table.column("key").to_pylist()


def test_deduction_columns_read_column_wise_as_row_by_row() -> None:
    """勾选状态, 用途, 税款所属期 in the words exports use: the same either way; purpose and period
    kept only for a selected invoice, a period read as YYYY-MM or not at all."""
    rng = random.Random(11)
    rows = varied_rows(rng, 600)
    rows[1] = [*rows[1], "勾选状态", "用途", "所属期"]  # 所属期: an alias of 税款所属期
    for row in rows[2:]:
        row += [
            rng.choice(["已勾选", "未勾选", "已确认", "", "撤销勾选", "？"]),
            rng.choice(["抵扣", "不抵扣", "", "用于抵扣"]),
            rng.choice(["202411", "2024-12", "2024年1月", "202413", "", "x"]),
        ]
    records, _ = read_export(csv_bytes(rows, bom=True))
    want, _ = row_by_row(rows)
    assert records == want
    states = {(r.deduct_state, r.deduct_purpose, r.deduct_period) for r in records}
    assert ("selected", "no_deduct", "2024-11") in states
    assert ("selected", "deduct", "2024-01") in states and ("selected", "", "") in states
    assert {s for s, _p, _d in states} == {"selected", "unselected", ""}
    assert all(p == d == "" for s, p, d in states if s != "selected")
    assert {d for _s, _p, d in states} == {"2024-11", "2024-12", "2024-01", ""}


def test_an_xls_reads_as_its_xlsx_and_a_damaged_one_is_one_finding() -> None:
    from fapiao.parse.safety import OLE
    from tests.export_support import XLSX, xls_of

    book = XLSX.read_bytes()
    assert read_export_table(xls_of(book))[0].equals(read_export_table(book)[0])
    damaged = OLE + bytes(504) + "Workbook".encode("utf-16-le") + bytes(4096)
    table, findings = read_export_table(damaged, "旧.xls")
    assert table.num_rows == 0
    assert [(f.code, "xls" in f.message) for f in findings] == [("unreadable", True)]


@pytest.mark.parametrize("guarded", [True, False])
def test_csv_read_in_many_blocks_equals_row_by_row(small_chunks: None, guarded: bool) -> None:
    """A large export is converted chunk by chunk as Arrow reads it, several at once, and one
    without any apostrophe skips looking for guarded cells: the records, the findings naming
    their rows, and each row's position all as the row-by-row reading has them."""
    rows = varied_rows(random.Random(5), 1200)
    if not guarded:
        rows = [[cell.replace("'", "") for cell in row] for row in rows]
    data = csv_bytes(rows)
    assert (b"'" in data) is guarded
    records, findings = reads_as_row_by_row(data, rows)
    assert len(records) > 250 and len(findings) > 250
    table, _ = read_export_table(data)
    assert table.column("rn").to_pylist() == list(range(table.num_rows))


def test_csv_with_rows_of_another_width_late_in_the_file_reads_as_row_by_row(
    small_chunks: None,
) -> None:
    """Rows are converted while the file is still being read; a row of another width found after
    many chunks sends the whole file to the row-by-row reading, and nothing converted before it
    is kept twice."""
    rows = varied_rows(random.Random(11), 1200)
    rows[-40].append("多出的一格")
    rows[-20] = rows[-20][:12]
    records, _ = reads_as_row_by_row(csv_bytes(rows), rows)
    assert len(records) > 250


def test_csv_with_more_rows_than_allowed_is_refused_whole(small_chunks: None, monkeypatch) -> None:
    monkeypatch.setattr(export_rows, "MAX_ROWS", 700)
    table, findings = read_export_table(csv_bytes(varied_rows(random.Random(2), 1200)))
    assert table.num_rows == 0
    assert [f.code for f in findings] == ["too_large"]


@pytest.mark.parametrize("end", [b"", b"\n", b"\r\n", b"\n\n"])
def test_an_export_of_no_rows_is_an_empty_list_not_a_bad_file(end: bytes) -> None:
    header = ",".join(COLUMNS).encode()
    table, findings = read_export_table("全量发票查询\n".encode() + header + end)
    assert (table.num_rows, findings) == (0, [])


def test_every_space_arrow_trims_starts_with_a_byte_the_reader_looks_for() -> None:
    """A column is trimmed only when its bytes hold one that starts a space (`_SPACE_LEADS`): every
    character Arrow's `utf8_trim_whitespace` removes, asked of Arrow itself."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from fapiao.authority.export_table import _SPACE_LEADS

    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array([chr(c) for c in points]))
    gone = pc.equal(trimmed, "").to_pylist()
    spaces = [chr(c) for c, g in zip(points, gone, strict=True) if g]
    assert len(spaces) >= 29 and "\u3000" in spaces and "\xa0" in spaces
    assert {s.encode()[0] for s in spaces} <= set(_SPACE_LEADS)
    assert all(s.isspace() for s in spaces)  # what the row-by-row reading strips too


def clean_rows(n: int, *, older: bool = False) -> list[list[str]]:
    """Rows the column-wise reading takes whole (no apostrophe, no red invoice, no bad cell) and
    that hold no space at all: 数电 invoices, or older ones (a code and an eight-digit number)."""
    rows = [list(COLUMNS)]
    for i in range(n):
        code, number, digital = (
            ("011001900111", f"{10000000 + i}", "") if older else ("", "", f"{24 * 10**18 + i}")
        )
        rows.append([
            str(i), code, number, digital, "91110108MA0TL7K20Q", f"甲{i % 7}",
            "91310000000000000X", "乙", "2024-01-02", f"{i}.50", "0.10", "", "电子发票服务平台",
            "数电发票（增值税专用发票）", "正常", "是", "正常", "", "",
        ])  # fmt: skip
    return rows


@pytest.mark.parametrize("space", [" ", "\t", "\u3000", "\xa0", "\u2003", "\u205f", "\x1c"])
def test_a_column_whose_only_space_is_one_kind_is_trimmed(small_chunks: None, space: str) -> None:
    """Columns with no space at all are taken as they are; one holding a single space of any kind
    Arrow trims, in two cells of one chunk, reads as the row-by-row reading has it."""
    rows = clean_rows(400)
    at = COLUMNS.index("销方名称")
    rows[150][at] = f"{space}{rows[150][at]}"  # a space before one seller's name …
    rows[151][at] = f"{rows[151][at]}{space}"  # … and one after the next
    records, findings = reads_as_row_by_row(csv_bytes(rows), rows)
    assert len(records) == 400 and not findings
    assert {r.seller.name for r in records} == {f"甲{i}" for i in range(7)}


@pytest.mark.parametrize(("older", "grouped"), [(False, False), (True, False), (False, True)])
def test_an_export_of_rows_all_alike_is_read_column_wise(
    small_chunks: None, monkeypatch: pytest.MonkeyPatch, older: bool, grouped: bool
) -> None:
    """Every row 数电 or every row older, amounts plain or grouped by commas: read column-wise
    whole, no row left to the row-by-row reading, and as that reading has them."""
    rows = clean_rows(300, older=older)
    if grouped:
        for row in rows[1:]:
            row[COLUMNS.index("金额")] = f"{1000 + int(row[0]):,}.50"
    by_rows: list[int] = []
    real = export_rows.read_row
    monkeypatch.setattr(export_rows, "read_row", lambda v, n: by_rows.append(n) or real(v, n))
    table, findings = read_export_table(csv_bytes(rows))
    assert table.num_rows == 300 and not findings and by_rows == []
    monkeypatch.undo()
    records, _ = reads_as_row_by_row(csv_bytes(rows), rows)
    assert all((r.code == "011001900111") is older for r in records)
    assert records[7].amount == (100750 if grouped else 750)
