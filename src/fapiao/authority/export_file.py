"""The platform's 全量发票查询 export (xlsx sheet 发票基础信息, or csv): read it into authority records,
and write the same columns (the sandbox platform serves its export through `write_export`).

Columns (from public parsers, not an official spec): 序号, 发票代码, 发票号码, 数电发票号码, 销方识别号,
销方名称, 购方识别号, 购买方名称, 开票日期, 金额, 税额, 价税合计, 发票来源, 发票票种, 发票状态, 是否正数发票,
发票风险等级, 开票人, 备注. Reading maps headers by name (a few known aliases too), so column order,
extra columns, title rows above the header, thousands separators, numeric cells, a UTF-8 BOM or GBK
text are all fine. A file that is not such an export gives one `unsupported_format` finding; a bad
row gives findings naming the row and is left out. Money is read exactly (Decimal), never float.

Imports the model, codec, money, findings and the parse package's safety limits (for xlsx zips).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from fapiao import deadline, sheets
from fapiao.codec import parse_date
from fapiao.findings import Finding, finding
from fapiao.model import AuthorityRecord, Identity, Kind, Party, Status
from fapiao.money import MoneyError, format_fen, parse_yuan
from fapiao.parse.safety import Unsafe, guard_workbook, looks_like_zip

SHEET = "发票基础信息"
COLUMNS = (
    "序号", "发票代码", "发票号码", "数电发票号码", "销方识别号", "销方名称", "购方识别号", "购买方名称",
    "开票日期", "金额", "税额", "价税合计", "发票来源", "发票票种", "发票状态", "是否正数发票",
    "发票风险等级", "开票人", "备注",
)  # fmt: skip
_ALIASES = {
    "数电票号码": "数电发票号码",
    "全电发票号码": "数电发票号码",
    "销售方纳税人识别号": "销方识别号",
    "销方纳税人识别号": "销方识别号",
    "销售方识别号": "销方识别号",
    "销售方名称": "销方名称",
    "购买方纳税人识别号": "购方识别号",
    "购方纳税人识别号": "购方识别号",
    "购买方识别号": "购方识别号",
    "购方名称": "购买方名称",
    "开票时间": "开票日期",
    "合计金额": "金额",
    "不含税金额": "金额",
    "合计税额": "税额",
    "票种": "发票票种",
    "发票类型": "发票票种",
}
_REQUIRED = ("开票日期", "金额", "税额", "销方识别号", "购方识别号")
KIND_LABELS = {
    Kind.DIGITAL_SPECIAL: "数电发票（增值税专用发票）",
    Kind.DIGITAL_NORMAL: "数电发票（普通发票）",
    Kind.VAT_ELECTRONIC_SPECIAL: "增值税电子专用发票",
    Kind.VAT_ELECTRONIC_NORMAL: "增值税电子普通发票",
    Kind.VAT_SPECIAL: "增值税专用发票",
    Kind.VAT_NORMAL: "增值税普通发票",
    Kind.OTHER: "其他发票",
}
_RED_DIGITAL = re.compile(r"被红冲蓝字(?:数电)?(?:发票|票)?号码\s*[:：]?\s*(\d{20})")
_RED_OLDER = re.compile(r"对应正数发票代码\s*[:：]?\s*(\d{10,12})\s*号码\s*[:：]?\s*(\d{8})")
MAX_ROWS = 1_000_000
HEADER_SCAN = 30


# --- reading --------------------------------------------------------------------------------------


def read_export(data: bytes, name: str = "") -> tuple[list[AuthorityRecord], list[Finding]]:
    """xlsx or csv bytes -> (records, findings). Never raises on bad input."""
    try:
        rows = _xlsx_rows(data) if looks_like_zip(data) else _csv_rows(data)
    except Unsafe as exc:
        return [], [exc.finding]
    header_at, columns = _find_header(rows)
    if columns is None:
        where = f" ({name})" if name else ""
        detail = f"not a 全量发票查询 export{where}: no header row with 发票号码, 开票日期, 金额 …"
        return [], [finding("unsupported_format", detail=detail)]
    records: list[AuthorityRecord] = []
    findings: list[Finding] = []
    for index, row in enumerate(rows[header_at + 1 :], start=header_at + 2):
        values = {col: _cell(row, at) for col, at in columns.items()}
        if _skip(values):
            continue
        record, problems = _record(values, index)
        findings.extend(problems)
        if record is not None:
            records.append(record)
    return records, findings


def _xlsx_rows(data: bytes) -> list[Sequence[Any]]:
    refused = guard_workbook(data)  # the limits first: openpyxl would inflate whatever it is given
    if refused is not None:
        raise Unsafe(refused)
    import openpyxl

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on a damaged workbook
        raise Unsafe(finding("unreadable", detail=f"not a readable xlsx: {exc}")) from None
    try:
        candidates = [book[SHEET]] if SHEET in book.sheetnames else list(book.worksheets)
        for sheet in candidates:
            rows = []
            for row in sheet.iter_rows(values_only=True):
                rows.append(row)
                if len(rows) > MAX_ROWS:
                    raise Unsafe(finding("too_large", detail=f"more than {MAX_ROWS} rows"))
                if len(rows) % 5000 == 0:
                    deadline.check()
            if _find_header(rows)[1] is not None:
                return rows
        return []
    finally:
        book.close()


def _decode(data: bytes, encoding: str, piece: int = 1 << 20) -> str:
    """`data.decode(encoding)` a MiB at a time: one call on a 200 MB export would hold the
    interpreter lock for a second, and the web server's event loop with it."""
    decoder = codecs.getincrementaldecoder(encoding)()
    parts = [decoder.decode(data[at : at + piece]) for at in range(0, len(data), piece)]
    parts.append(decoder.decode(b"", final=True))
    return "".join(parts)


def _csv_rows(data: bytes) -> list[Sequence[Any]]:
    if b"\x00" in data[:4096]:
        raise Unsafe(finding("unsupported_format", detail="binary data, not a csv export"))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = _decode(data, encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes nearly anything
        raise Unsafe(finding("unreadable", detail="neither UTF-8 nor GBK text"))
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows: list[Sequence[Any]] = []
    try:
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise Unsafe(finding("too_large", detail=f"more than {MAX_ROWS} rows"))
    except csv.Error as exc:
        raise Unsafe(finding("unreadable", detail=f"bad csv: {exc}")) from None
    return rows


def _norm_header(value: Any) -> str:
    text = "".join(str(value or "").split())
    for unit in ("（元）", "(元)"):
        text = text.replace(unit, "")
    return _ALIASES.get(text, text)


def _find_header(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int] | None]:
    for at, row in enumerate(rows[:HEADER_SCAN]):
        columns: dict[str, int] = {}
        for index, value in enumerate(row):
            name = _norm_header(value)
            if name in COLUMNS and name not in columns:
                columns[name] = index
        has_number = "发票号码" in columns or "数电发票号码" in columns
        if has_number and all(col in columns for col in _REQUIRED):
            return at, columns
    return 0, None


def _cell(row: Sequence[Any], at: int) -> Any:
    return row[at] if at < len(row) else None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return sheets.unguard(text) if text[:1] == "'" else text


def _skip(values: dict[str, Any]) -> bool:
    texts = [_text(v) for v in values.values()]
    if not any(texts):
        return True
    return any(text in ("合计", "总计", "小计") for text in texts)  # a totals row, not an invoice


def _money(value: Any, column: str, row: int, problems: list[Finding]) -> int:
    try:
        if isinstance(value, bool):
            raise MoneyError(f"not an amount: {value!r}")
        if isinstance(value, float):
            exact = Decimal(repr(value))
            if exact != exact.quantize(Decimal("0.01")):
                raise MoneyError(f"more than two decimals: {value!r}")
            return int(exact * 100)
        if isinstance(value, int | Decimal):
            return parse_yuan(value if isinstance(value, int) else str(value))
        text = _text(value)
        if not text:
            raise MoneyError("empty")
        return parse_yuan(text)
    except (MoneyError, InvalidOperation) as exc:
        problems.append(finding("field_invalid", f"row {row}: {column}", detail=str(exc)))
        return 0


def _date(value: Any, row: int, problems: list[Finding]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and 20000 < value < 80000:  # an Excel serial day number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    parsed = parse_date(_text(value))
    if parsed is None:
        problems.append(finding("date_invalid", f"row {row}: 开票日期", detail=repr(_text(value))))
    return parsed


def _digits(value: Any, width: int) -> str:
    """Codes and numbers; a numeric cell lost its leading zeros, so pad to the printed width."""
    text = _text(value)
    if isinstance(value, int | float) and text.isdigit() and width and len(text) < width:
        text = text.zfill(width)
    return text


def kind_of(label: str, number: str) -> Kind:
    """发票票种 as the platform writes it -> Kind."""
    text = label.replace(" ", "")
    digital = "数电" in text or "全电" in text or text.startswith("电子发票") or len(number) == 20
    special = "专用" in text
    if digital:
        return Kind.DIGITAL_SPECIAL if special else Kind.DIGITAL_NORMAL
    if "电子" in text:
        return Kind.VAT_ELECTRONIC_SPECIAL if special else Kind.VAT_ELECTRONIC_NORMAL
    if special:
        return Kind.VAT_SPECIAL
    if "普通" in text:
        return Kind.VAT_NORMAL
    return Kind.OTHER


def original_in(remarks: str) -> Identity | None:
    match = _RED_DIGITAL.search(remarks)
    if match:
        return Identity("", match.group(1))
    match = _RED_OLDER.search(remarks)
    return Identity(match.group(1), match.group(2)) if match else None


def _record(values: dict[str, Any], row: int) -> tuple[AuthorityRecord | None, list[Finding]]:
    problems: list[Finding] = []
    digital_number = _text(values.get("数电发票号码"))
    code = _digits(values.get("发票代码"), 12 if len(_text(values.get("发票代码"))) == 11 else 0)
    number = _digits(values.get("发票号码"), 8)
    if digital_number:
        code, number = "", digital_number
    elif len(number) == 20:
        code = ""
    if not number or not number.isdigit():
        problems.append(
            finding("number_invalid", f"row {row}: 发票号码", kind="全量发票查询", value=number)
        )
    amount = _money(values.get("金额"), "金额", row, problems)
    tax = _money(values.get("税额"), "税额", row, problems)
    total_raw = values.get("价税合计")
    total = _money(total_raw, "价税合计", row, problems) if _text(total_raw) else amount + tax
    issue_date = _date(values.get("开票日期"), row, problems)
    if problems or issue_date is None:
        return None, problems
    platform_status = _text(values.get("发票状态"))
    positive = _text(values.get("是否正数发票"))
    remarks = _text(values.get("备注"))
    if "作废" in platform_status:
        status = Status.VOID
    elif positive == "否" or total < 0:
        status = Status.RED
    else:
        status = Status.NORMAL
    record = AuthorityRecord(
        code=code,
        number=number,
        kind=kind_of(_text(values.get("发票票种")), number),
        issue_date=issue_date,
        seller=Party(_text(values.get("销方名称")), _text(values.get("销方识别号")).upper()),
        buyer=Party(_text(values.get("购买方名称")), _text(values.get("购方识别号")).upper()),
        amount=amount,
        tax=tax,
        total=total,
        status=status,
        platform_status=platform_status,
        original=original_in(remarks) if status is Status.RED else None,
        source=_text(values.get("发票来源")),
        risk=_text(values.get("发票风险等级")),
        issuer=_text(values.get("开票人")),
        remarks=remarks,
    )
    return record, []


# --- writing --------------------------------------------------------------------------------------


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


def rows_of(records: Iterable[AuthorityRecord]) -> Iterator[list[Any]]:
    for seq, record in enumerate(records, start=1):
        yield _row(seq, record)


def write_export(records: Iterable[AuthorityRecord], fmt: str = "xlsx") -> bytes:
    """Records -> the export's bytes: `xlsx` (sheet 发票基础信息) or `csv` (UTF-8 with BOM), through
    `fapiao.sheets`, so names and remarks never become formulas."""
    if fmt == "csv":
        rows = (
            [format_fen(int(v * 100)) if isinstance(v, Decimal) else v for v in row]
            for row in rows_of(records)
        )
        return sheets.csv_bytes(COLUMNS, rows)
    if fmt != "xlsx":
        raise ValueError(f"export format must be xlsx or csv, not {fmt!r}")
    book = sheets.Book(money_format="0.00")  # as the platform writes it
    sheet = book.sheet(SHEET)
    sheet.header(list(COLUMNS), bold=False)
    for row in rows_of(records):
        sheet.append(row)
    return book.to_bytes()
