"""One row of the platform's 全量发票查询 export read into an AuthorityRecord, and the export's columns.

Columns (from public parsers, not an official spec): 序号, 发票代码, 发票号码, 数电发票号码, 销方识别号,
销方名称, 购方识别号, 购买方名称, 开票日期, 金额, 税额, 价税合计, 发票来源, 发票票种, 发票状态, 是否正数发票,
发票风险等级, 开票人, 备注; an export of received invoices may add their 勾选 state: 勾选状态 (已勾选 /
未勾选), 用途 (抵扣 / 不抵扣), 税款所属期 (YYYYMM). Headers are mapped by name (a few known aliases
too); a bad row gives findings naming the row. Money is read exactly (Decimal), never float. `export_table` reads whole files
column-wise and hands this module the rows it cannot decide column-wise.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from fapiao import sheets
from fapiao.codec import parse_date
from fapiao.findings import Finding, finding
from fapiao.model import AuthorityRecord, Identity, Kind, Party, Status
from fapiao.money import MoneyError, parse_yuan

SHEET = "发票基础信息"
COLUMNS = (
    "序号", "发票代码", "发票号码", "数电发票号码", "销方识别号", "销方名称", "购方识别号", "购买方名称",
    "开票日期", "金额", "税额", "价税合计", "发票来源", "发票票种", "发票状态", "是否正数发票",
    "发票风险等级", "开票人", "备注",
)  # fmt: skip
# the 勾选 state of a received invoice, where the export carries it (read when present)
DEDUCT_COLUMNS = ("勾选状态", "用途", "税款所属期")
KNOWN = frozenset(COLUMNS + DEDUCT_COLUMNS)
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
    "勾选标志": "勾选状态",
    "抵扣勾选状态": "勾选状态",
    "勾选用途": "用途",
    "所属期": "税款所属期",
    "勾选所属期": "税款所属期",
}
_REQUIRED = ("开票日期", "金额", "税额", "销方识别号", "购方识别号")
_RED_DIGITAL = re.compile(r"被红冲蓝字(?:数电)?(?:发票|票)?号码\s*[:：]?\s*(\d{20})")
_RED_OLDER = re.compile(r"对应正数发票代码\s*[:：]?\s*(\d{10,12})\s*号码\s*[:：]?\s*(\d{8})")
MAX_ROWS = 1_000_000
HEADER_SCAN = 30
_PERIOD = re.compile(r"^(\d{4})[-年/.]?(\d{1,2})月?$")


def _norm_header(value: Any) -> str:
    text = "".join(str(value or "").split())
    for unit in ("（元）", "(元)"):
        text = text.replace(unit, "")
    return _ALIASES.get(text, text)


def find_header(rows: Sequence[Sequence[Any]]) -> tuple[int, dict[str, int] | None]:
    for at, row in enumerate(rows[:HEADER_SCAN]):
        columns: dict[str, int] = {}
        for index, value in enumerate(row):
            name = _norm_header(value)
            if name in KNOWN and name not in columns:
                columns[name] = index
        has_number = "发票号码" in columns or "数电发票号码" in columns
        if has_number and all(col in columns for col in _REQUIRED):
            return at, columns
    return 0, None


def cell(row: Sequence[Any], at: int) -> Any:
    return row[at] if at < len(row) else None


def cell_text(value: Any) -> str:
    """A cell as the text it shows: stripped, an integral float without its .0, unguarded."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return sheets.unguard(text) if text[:1] == "'" else text


def is_skipped(values: dict[str, Any]) -> bool:
    texts = [cell_text(v) for v in values.values()]
    if not any(texts):
        return True
    return any(text in ("合计", "总计", "小计") for text in texts)  # a totals row, not an invoice


def _money(value: Any, column: str, row: int, problems: list[Finding]) -> int:
    try:
        if isinstance(value, bool):
            raise MoneyError(f"not an amount: {value!r}", f"不是金额：{value!r}")
        if isinstance(value, float):
            exact = Decimal(repr(value))
            if exact != exact.quantize(Decimal("0.01")):
                raise MoneyError(f"more than two decimals: {value!r}", f"小数超过两位：{value!r}")
            return int(exact * 100)
        if isinstance(value, int | Decimal):
            return parse_yuan(value if isinstance(value, int) else str(value))
        text = cell_text(value)
        if not text:
            raise MoneyError("empty", "为空")
        return parse_yuan(text)
    except (MoneyError, InvalidOperation) as exc:
        zh = exc.zh if isinstance(exc, MoneyError) else str(exc)
        where = f"row {row}: {column}"
        problems.append(finding("field_invalid", where, detail=zh, detail_en=str(exc)))
        return 0


def _date(value: Any, row: int, problems: list[Finding]) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and 20000 < value < 80000:  # an Excel serial day number
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(value))
    parsed = parse_date(cell_text(value))
    if parsed is None:
        problems.append(
            finding("date_invalid", f"row {row}: 开票日期", detail=repr(cell_text(value)))
        )
    return parsed


def digits(value: Any, width: int) -> str:
    """Codes and numbers; a numeric cell lost its leading zeros, so pad to the printed width."""
    text = cell_text(value)
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


def deduct_state(text: str) -> str:
    """勾选状态 as the platform writes it -> selected / unselected / "" (not said)."""
    text = text.replace(" ", "")
    if not text:
        return ""
    if text.startswith(("未", "不", "否")) or "撤销" in text:
        return "unselected"
    if "勾选" in text or "确认" in text or text in ("是", "已抵扣"):
        return "selected"
    return ""


def deduct_purpose(text: str) -> str:
    """用途 -> deduct / no_deduct / "" (不抵扣 first: it contains 抵扣)."""
    if "不抵扣" in text:
        return "no_deduct"
    return "deduct" if "抵扣" in text else ""


def deduct_period(text: str) -> str:
    """税款所属期 202411, 2024-11, 2024年11月 -> '2024-11'; anything else ''."""
    found = _PERIOD.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        return ""
    return f"{found.group(1)}-{int(found.group(2)):02d}"


def deduction_of(values: dict[str, Any]) -> tuple[str, str, str]:
    """(state, purpose, period) of a row; purpose and period only when it is selected."""
    state = deduct_state(cell_text(values.get("勾选状态")))
    if state != "selected":
        return state, "", ""
    purpose = deduct_purpose(cell_text(values.get("用途")))
    return state, purpose, deduct_period(cell_text(values.get("税款所属期")))


def read_row(values: dict[str, Any], row: int) -> tuple[AuthorityRecord | None, list[Finding]]:
    problems: list[Finding] = []
    digital_number = cell_text(values.get("数电发票号码"))
    code = digits(values.get("发票代码"), 12 if len(cell_text(values.get("发票代码"))) == 11 else 0)
    number = digits(values.get("发票号码"), 8)
    if digital_number:
        code, number = "", digital_number
    elif len(number) == 20:
        code = ""
    if not number or not number.isdigit():
        problems.append(
            finding(
                "number_invalid",
                f"row {row}: 发票号码",
                field_zh=f"第 {row} 行的发票号码",
                kind="全量发票查询",
                kind_zh="全量发票查询",
                value=number,
            )
        )
    amount = _money(values.get("金额"), "金额", row, problems)
    tax = _money(values.get("税额"), "税额", row, problems)
    total_raw = values.get("价税合计")
    total = _money(total_raw, "价税合计", row, problems) if cell_text(total_raw) else amount + tax
    issue_date = _date(values.get("开票日期"), row, problems)
    if problems or issue_date is None:
        return None, problems
    platform_status = cell_text(values.get("发票状态"))
    positive = cell_text(values.get("是否正数发票"))
    remarks = cell_text(values.get("备注"))
    if "作废" in platform_status:
        status = Status.VOID
    elif positive == "否" or total < 0:
        status = Status.RED
    else:
        status = Status.NORMAL
    record = AuthorityRecord(
        code=code,
        number=number,
        kind=kind_of(cell_text(values.get("发票票种")), number),
        issue_date=issue_date,
        seller=Party(
            cell_text(values.get("销方名称")), cell_text(values.get("销方识别号")).upper()
        ),
        buyer=Party(
            cell_text(values.get("购买方名称")), cell_text(values.get("购方识别号")).upper()
        ),
        amount=amount,
        tax=tax,
        total=total,
        status=status,
        platform_status=platform_status,
        original=original_in(remarks) if status is Status.RED else None,
        source=cell_text(values.get("发票来源")),
        risk=cell_text(values.get("发票风险等级")),
        issuer=cell_text(values.get("开票人")),
        remarks=remarks,
    )
    state, purpose, period = deduction_of(values)
    if state:
        record = replace(record, deduct_state=state, deduct_purpose=purpose, deduct_period=period)
    return record, []
