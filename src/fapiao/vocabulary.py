"""The words, amounts and times a person sees, Chinese first and English beside it.

One table per code family (票种, 状态, 方向, 上传状态, 税率, 角色), so that the command line, printouts,
exports and pages name a code the same way; amounts with thousands separators; times in Asia/Shanghai
with the zone named (stored values stay UTC). Imports nothing of ours.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

KINDS = {
    "digital_special": ("电子发票（增值税专用发票）", "digital VAT special invoice"),
    "digital_normal": ("电子发票（普通发票）", "digital normal invoice"),
    "vat_electronic_special": ("增值税电子专用发票", "VAT electronic special invoice"),
    "vat_electronic_normal": ("增值税电子普通发票", "VAT electronic normal invoice"),
    "vat_special": ("增值税专用发票", "VAT special invoice (paper)"),
    "vat_normal": ("增值税普通发票", "VAT normal invoice (paper)"),
    "other": ("其他发票", "other invoice"),
}
SHORT_KINDS = {
    "digital_special": ("数电专票", "digital special"),
    "digital_normal": ("数电普票", "digital normal"),
    "vat_electronic_special": ("电子专票", "e-special"),
    "vat_electronic_normal": ("电子普票", "e-normal"),
    "vat_special": ("纸质专票", "paper special"),
    "vat_normal": ("纸质普票", "paper normal"),
    "other": ("其他", "other"),
}
STATUSES = {"normal": ("正常", "normal"), "red": ("红字", "red"), "void": ("作废", "void")}
DIRECTIONS = {"issued": ("销项", "issued"), "received": ("进项", "received")}
AUTHORITY_STATES = {
    "local": ("未上传", "local"),
    "queued": ("待上传", "queued"),
    "uploaded": ("已上传", "uploaded"),
    "confirmed": ("平台已确认", "confirmed"),
    "missing": ("平台缺失", "missing at the platform"),
    "mismatch": ("与平台不符", "differs from the platform"),
}
VERIFICATIONS = {
    "match": ("查验一致", "verified"),
    "mismatch": ("查验不符", "differs"),
    "not_found": ("查无此票", "not found"),
    "unverified": ("未查验", "not verified"),
}
RATE_MARKERS = {"exempt": ("免税", "exempt"), "nontaxable": ("不征税", "not taxable")}
RATE_MARKERS["margin"] = ("差额征税", "margin")
# the statistics' rate of an invoice without line items (`insight.facts.NO_RATE`)
RATE_MARKERS[""] = ("无明细", "no line items")


def zh(table: dict[str, tuple[str, str]], code: str | None) -> str:
    """The Chinese word for a code; the code itself when the table does not know it."""
    return table.get(code or "", (code or "", ""))[0]


def en(table: dict[str, tuple[str, str]], code: str | None) -> str:
    return table.get(code or "", ("", code or ""))[1]


def rate(code: str | None) -> str:
    """0.13 -> 13%, 0.015 -> 1.5%, exempt -> 免税."""
    if code in RATE_MARKERS:
        return RATE_MARKERS[code][0]
    try:
        return f"{float(code or '') * 100:g}%"
    except ValueError:
        return code or ""


def yuan(text: str | None) -> str:
    """'1234567.80' -> '1,234,567.80' (amounts as canonical JSON writes them)."""
    raw = text or ""
    sign, body = ("-", raw[1:]) if raw.startswith("-") else ("", raw)
    whole, dot, part = body.partition(".")
    if not whole.isdigit():
        return raw
    return f"{sign}{int(whole):,}{dot}{part}"


ROLES = {
    "admin": ("管理员", "administrator"),
    "accountant": ("会计", "accountant"),
    "auditor": ("审计", "auditor"),
    "viewer": ("只读", "viewer"),
    "support": ("运维支持", "support"),
}
SOURCES = {
    "upload": ("上传", "upload"),
    "file": ("文件导入", "file"),
    "web": ("网页上传", "web upload"),
    "cli": ("命令行导入", "command line"),
    "authority": ("税务平台", "tax platform"),
    "draft": ("开票草稿", "draft"),
    "import": ("导入", "import"),
    "sync": ("平台同步", "platform sync"),
    "manual": ("手工录入", "entered by hand"),
    "folder": ("文件夹", "folder"),
    "mail": ("邮件", "mail"),
    "email": ("邮件", "mail"),
}
SEVERITIES = {"error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "note")}
REVIEW_STATES = {
    "open": ("待处理", "open"),
    "accepted": ("已接受", "accepted"),
    "rejected": ("已拒收", "rejected"),
}
INCIDENT_STATES = {"open": ("处理中", "open"), "closed": ("已关闭", "closed")}
INCIDENT_CAUSES = {
    "manual": ("人工登记", "entered by hand"),
    "breaker": ("平台连接中断", "platform unreachable"),
    "reconcile": ("对账发现", "found by reconciling"),
}
NOTE_KINDS = {
    "opened": ("开始", "opened"),
    "closed": ("关闭", "closed"),
    "note": ("备注", "note"),
}
REISSUE_STATES = {
    "draft": ("草稿", "draft"),
    "submitted": ("已提交", "submitted"),
    "approved": ("已批准", "approved"),
    "reissued": ("已补开", "re-issued"),
    "rejected": ("已驳回", "rejected"),
}
CATEGORY_SOURCES = {
    "code": ("按税收分类编码", "by tax code"),
    "name": ("按商品简称", "by item name"),
    "rule": ("按对方规则", "by counterparty rule"),
    "override": ("人工更正", "corrected by hand"),
}
ACTION_STATES = {
    "open": ("待处理", "open"),
    "in_progress": ("处理中", "in progress"),
    "resolved": ("已解决", "resolved"),
    "waived": ("已豁免", "waived"),
}
FIELDS = {
    "kind": ("票种", "kind"),
    "code": ("发票代码", "code"),
    "number": ("发票号码", "number"),
    "issue_date": ("开票日期", "issue date"),
    "amount": ("金额", "amount"),
    "tax": ("税额", "tax"),
    "total": ("价税合计", "total"),
    "status": ("发票状态", "status"),
    "seller.name": ("销方名称", "seller name"),
    "seller.tax_id": ("销方识别号", "seller tax ID"),
    "buyer.name": ("购买方名称", "buyer name"),
    "buyer.tax_id": ("购方识别号", "buyer tax ID"),
    "remarks": ("备注", "remarks"),
    "issuer": ("开票人", "issuer"),
    # 勾选 of a received invoice, as reconcile compares it with the platform's
    "selection": ("勾选状态", "selection"),
    "purpose": ("用途", "purpose"),
    "period": ("税款所属期", "period"),
}
DEDUCTION = {
    "selected": ("已勾选", "selected"),
    "unselected": ("未勾选", "not selected"),
    "deduct": ("抵扣", "deduct"),
    "no_deduct": ("不抵扣", "not deducted"),
}
FAMILIES = {
    "kind": KINDS,
    "short_kind": SHORT_KINDS,
    "status": STATUSES,
    "direction": DIRECTIONS,
    "authority": AUTHORITY_STATES,
    "verification": VERIFICATIONS,
    "role": ROLES,
    "source": SOURCES,
    "severity": SEVERITIES,
    "review": REVIEW_STATES,
    "incident": INCIDENT_STATES,
    "cause": INCIDENT_CAUSES,
    "note": NOTE_KINDS,
    "reissue": REISSUE_STATES,
    "category_source": CATEGORY_SOURCES,
    "action": ACTION_STATES,
    "field": FIELDS,
    "deduction": DEDUCTION,
}


def word(family: str, code: str | None, lang: str = "zh") -> str:
    """The word for `code` in a family named in FAMILIES ('status', 'kind', …); 'rate' formats a rate."""
    if family == "rate":
        return rate(code) if lang == "zh" else _rate_en(code)
    table = FAMILIES[family]
    return en(table, code) if lang == "en" else zh(table, code)


def _rate_en(code: str | None) -> str:
    return RATE_MARKERS[code][1] if code in RATE_MARKERS else rate(code)


def fen(amount: int | None) -> str:
    """Integer fen -> '1,234,567.80' (two decimals, thousands separated); None -> ''."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(int(amount)), 100)
    return f"{sign}{whole:,}.{part:02d}"


def amount(value: int | str | None) -> str:
    """Fen (int) or a canonical yuan string ('1234.50') as a person reads it: '1,234.50'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return fen(value)
    return yuan(None if value is None else str(value))


# --- time -----------------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONE = {"zh": "北京时间", "en": "CST (UTC+8)"}


def to_local(value: str | dt.datetime | None) -> dt.datetime | None:
    """A stored moment (ISO text or datetime; naive means UTC) in Asia/Shanghai; None when empty or
    unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # stored naive values are UTC
    return moment.astimezone(SHANGHAI)


def shown(value: str | dt.datetime | None, lang: str = "zh", *, seconds: bool = False) -> str:
    """A stored moment for a person: `YYYY-MM-DD HH:MM 北京时间`; a bare date stays a date;
    '' for nothing; text that is not a moment comes back as it was."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str) and len(value.strip()) == 10:
        return value.strip()  # a date (开票日期) has no zone to convert
    local = to_local(value)
    if local is None:
        return str(value)
    pattern = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return f"{local.strftime(pattern)} {ZONE.get(lang, ZONE['zh'])}"


def zone_name(lang: str = "zh") -> str:
    return ZONE.get(lang, ZONE["zh"])


# --- spreadsheet columns ---------------------------------------------------------------------------

# The listing's columns as a person's export names them: the platform's own 全量发票查询 column names
# where it has one (发票代码, 销方识别号, 价税合计 …), plain words elsewhere.
HEADERS = {
    "id": ("台账编号", "id"),
    "direction": ("方向", "direction"),
    "kind": ("发票票种", "kind"),
    "code": ("发票代码", "code"),
    "number": ("发票号码", "number"),
    "issue_date": ("开票日期", "issue_date"),
    "seller_name": ("销方名称", "seller_name"),
    "seller_tax_id": ("销方识别号", "seller_tax_id"),
    "buyer_name": ("购买方名称", "buyer_name"),
    "buyer_tax_id": ("购方识别号", "buyer_tax_id"),
    "amount": ("金额", "amount"),
    "tax": ("税额", "tax"),
    "total": ("价税合计", "total"),
    "status": ("发票状态", "status"),
    "authority_state": ("平台上传状态", "authority_state"),
    "source": ("来源", "source"),
    "category": ("类别", "category"),
    "verification": ("查验结果", "verification"),
}
_COLUMN_FAMILY = {
    "direction": "direction",
    "kind": "kind",
    "status": "status",
    "authority_state": "authority",
    "source": "source",
    "verification": "verification",
}
AMOUNT_COLUMNS = frozenset({"amount", "tax", "total"})


def headers(columns: list[str], lang: str = "zh") -> list[str]:
    """Column names for an export: Chinese for a person, the field names (`--headers en`) for scripts."""
    if lang == "en":
        return list(columns)
    return [HEADERS.get(c, (c, c))[0] for c in columns]


def export_cells(
    columns: list[str], cells: list[object], lang: str = "zh", *, numbers: bool = False
) -> list[object]:
    """One export row: codes as words for a person (codes kept under `en`, which scripts read);
    with `numbers`, amounts become Decimal yuan so a spreadsheet stores numbers, not text."""
    out: list[object] = []
    for column, value in zip(columns, cells, strict=True):
        if numbers and column in AMOUNT_COLUMNS and isinstance(value, str) and value:
            out.append(_decimal(value))
        elif lang != "en" and column in _COLUMN_FAMILY and isinstance(value, str):
            out.append(word(_COLUMN_FAMILY[column], value) if value else "")
        else:
            out.append(value)
    return out


def _decimal(text: str) -> object:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
