"""The platform's 全量发票查询 export (xlsx sheet 发票基础信息, or csv): read it into authority records,
and write the same columns (the sandbox platform serves its export through `write_export`).

Columns (from public parsers, not an official spec): 序号, 发票代码, 发票号码, 数电发票号码, 销方识别号,
销方名称, 购方识别号, 购买方名称, 开票日期, 金额, 税额, 价税合计, 发票来源, 发票票种, 发票状态, 是否正数发票,
发票风险等级, 开票人, 备注. Reading maps headers by name (a few known aliases too), so column order,
extra columns, title rows above the header, thousands separators, numeric cells, a UTF-8 BOM or GBK
text are all fine. A file that is not such an export gives one `unsupported_format` finding; a bad
row gives findings naming the row and is left out. Money is read exactly (Decimal), never float.

Imports the model, codec, money, findings and the parse package's safety limits (for xlsx zips).
The reading itself (csv through Arrow, xlsx through calamine) is `export_table`; this module
and the reading of one row, which that falls back to, is `export_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from fapiao import sheets
from fapiao.authority.export_rows import (  # noqa: F401 - the export's names, as before
    COLUMNS,
    DEDUCT_COLUMNS,
    HEADER_SCAN,
    MAX_ROWS,
    SHEET,
    kind_of,
    original_in,
)
from fapiao.authority.export_table import read_export_table, records_of
from fapiao.findings import Finding
from fapiao.model import AuthorityRecord, Kind, Status
from fapiao.money import format_fen

KIND_LABELS = {
    Kind.DIGITAL_SPECIAL: "数电发票（增值税专用发票）",
    Kind.DIGITAL_NORMAL: "数电发票（普通发票）",
    Kind.VAT_ELECTRONIC_SPECIAL: "增值税电子专用发票",
    Kind.VAT_ELECTRONIC_NORMAL: "增值税电子普通发票",
    Kind.VAT_SPECIAL: "增值税专用发票",
    Kind.VAT_NORMAL: "增值税普通发票",
    Kind.OTHER: "其他发票",
}

# --- reading --------------------------------------------------------------------------------------


def read_export(data: bytes, name: str = "") -> tuple[list[AuthorityRecord], list[Finding]]:
    """xlsx or csv bytes -> (records, findings). Never raises on bad input.

    Read column-wise into Arrow (`export_table`); a reconcile takes that table as it is."""
    table, findings = read_export_table(data, name)
    return records_of(table), findings


# --- writing --------------------------------------------------------------------------------------


STATE_WORDS = {"selected": "已勾选", "unselected": "未勾选"}
PURPOSE_WORDS = {"deduct": "抵扣", "no_deduct": "不抵扣"}


def _deduction(r: AuthorityRecord) -> list[str]:
    """勾选状态, 用途, 税款所属期 (YYYYMM) as the platform's 进项 list writes them."""
    return [
        STATE_WORDS.get(r.deduct_state, ""),
        PURPOSE_WORDS.get(r.deduct_purpose, ""),
        r.deduct_period.replace("-", ""),
    ]


def _row(seq: int, r: AuthorityRecord) -> list[Any]:
    digital = r.kind.is_digital or (not r.code and len(r.number) == 20)
    red = r.status is Status.RED or r.total < 0
    remarks = r.remarks
    if red and r.original and r.original.number not in remarks:
        if r.original.code:
            note = f"对应正数发票代码:{r.original.code}号码:{r.original.number}"
        else:
            note = f"被红冲蓝字数电发票号码：{r.original.number}"
        remarks = f"{note} {remarks}".strip()
    status = r.platform_status or ("已作废" if r.status is Status.VOID else "正常")
    source = r.source or ("电子发票服务平台" if digital else "增值税发票管理系统")
    return [
        seq,
        "" if digital else r.code,
        "" if digital else r.number,
        r.number if digital else "",
        r.seller.tax_id,
        r.seller.name,
        r.buyer.tax_id,
        r.buyer.name,
        r.issue_date.isoformat(),
        Decimal(r.amount) / 100,
        Decimal(r.tax) / 100,
        Decimal(r.total) / 100,
        source,
        KIND_LABELS[r.kind],
        status,
        "否" if red else "是",
        r.risk or "正常",
        r.issuer,
        remarks,
    ]


def rows_of(records: Iterable[AuthorityRecord], deduction: bool = False) -> Iterator[list[Any]]:
    for seq, record in enumerate(records, start=1):
        yield _row(seq, record) + (_deduction(record) if deduction else [])


def write_export(
    records: Iterable[AuthorityRecord], fmt: str = "xlsx", *, deduction: bool = False
) -> bytes:
    """Records -> the export's bytes: `xlsx` (sheet 发票基础信息) or `csv` (UTF-8 with BOM), through
    `fapiao.sheets`, so names and remarks never become formulas. `deduction`: add the 勾选
    columns (勾选状态, 用途, 税款所属期), as the platform's list of received invoices has them."""
    columns = COLUMNS + (DEDUCT_COLUMNS if deduction else ())
    if fmt == "csv":
        rows = (
            [format_fen(int(v * 100)) if isinstance(v, Decimal) else v for v in row]
            for row in rows_of(records, deduction)
        )
        return sheets.csv_bytes(columns, rows)
    if fmt != "xlsx":
        raise ValueError(f"export format must be xlsx or csv, not {fmt!r}")
    book = sheets.Book(money_format="0.00")  # as the platform writes it
    sheet = book.sheet(SHEET)
    sheet.header(list(columns), bold=False)
    for row in rows_of(records, deduction):
        sheet.append(row)
    return book.to_bytes()
