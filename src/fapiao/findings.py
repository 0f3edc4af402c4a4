"""Problems in a user's data are values: a Finding with a code, the field, a severity and a message
in Chinese and English. Exceptions are for bugs and I/O only.

Severity `error` rejects the input (it is quarantined); `warning` imports it with the finding attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fapiao.vocabulary import field_zh


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# code -> (default severity, Chinese template, English template)
CATALOG: dict[str, tuple[Severity, str, str]] = {
    "unreadable": (Severity.ERROR, "无法读取：{detail}", "cannot read: {detail_en}"),
    "unsupported_format": (
        Severity.ERROR,
        "不支持的文件格式：{detail}",
        "unsupported format: {detail_en}",
    ),
    "too_large": (Severity.ERROR, "文件过大：{detail}", "too large: {detail_en}"),
    "hostile": (Severity.ERROR, "疑似恶意文件：{detail}", "hostile input: {detail_en}"),
    "amount_out_of_range": (
        Severity.ERROR,
        "{field_zh} 金额超出可记录的范围（±10 万亿元）：{value} 分",
        "{field}: amount beyond what a ledger keeps (±10^13 yuan): {value} fen",
    ),
    "ocr_unavailable": (
        Severity.ERROR,
        "需要文字识别（OCR），但未安装 OCR 组件：{detail}",
        "needs OCR, which is not installed: {detail}",
    ),
    "number_invalid": (
        Severity.ERROR,
        "{field_zh}格式不符合{kind_zh}的要求：{value!r}",
        "{field} has the wrong format for {kind}: {value!r}",
    ),
    "tax_id_invalid": (
        Severity.ERROR,
        "纳税人识别号无效（{field_zh}）：{value!r}，{detail}",
        "invalid taxpayer ID ({field}): {value!r}, {detail_en}",
    ),
    "tax_id_missing": (
        Severity.WARNING,
        "购买方无纳税人识别号（个人）",
        "buyer has no taxpayer ID (a private person)",
    ),
    "sum_mismatch": (
        Severity.ERROR,
        "金额 {amount} + 税额 {tax} ≠ 价税合计 {total}",
        "amount {amount} + tax {tax} ≠ total {total}",
    ),
    "items_mismatch": (
        Severity.ERROR,
        "明细{what}合计 {lines} 与发票{what} {header} 不符",
        "line {what_en} add up to {lines}, the invoice says {header}",
    ),
    "tax_rate_invalid": (
        Severity.ERROR,
        "第 {line} 行税率无效：{value!r}",
        "line {line}: invalid tax rate {value!r}",
    ),
    "tax_calc_mismatch": (
        Severity.ERROR,
        "第 {line} 行税额 {tax} 与 金额×税率 {expected} 相差超过 {tolerance}",
        "line {line}: tax {tax} differs from amount × rate {expected} by more than {tolerance}",
    ),
    "date_invalid": (Severity.ERROR, "开票日期无效：{detail}", "invalid issue date: {detail_en}"),
    "uppercase_mismatch": (
        Severity.ERROR,
        "价税合计（大写）{words} 与小写 {total} 不符",
        "total in words {words} does not match {total}",
    ),
    "red_without_original": (
        Severity.ERROR,
        "红字发票未注明对应的蓝字发票",
        "red invoice does not name the blue invoice it reverses",
    ),
    "red_not_negative": (
        Severity.ERROR,
        "红字发票金额应为负数：{field_zh} = {value}",
        "red invoice must carry negative amounts: {field} = {value}",
    ),
    "from_platform_list": (
        Severity.WARNING,
        "取自税务平台的全量发票查询导出：只有票面信息，没有明细行和发票原件",
        "taken from the platform's 全量发票查询 export: the invoice's head only, without line items "
        "or its own file",
    ),
    "near_duplicate": (
        Severity.WARNING,
        "与 {other} 的购销双方、价税合计和开票日期相同，但号码不同",
        "same parties, total and date as {other}, with a different number",
    ),
    "no_tenant": (
        Severity.ERROR,
        "销售方和购买方都不是本账簿的企业：{seller} / {buyer}",
        "neither seller nor buyer is a company of this ledger: {seller} / {buyer}",
    ),
    "source_mismatch": (
        Severity.ERROR,
        "{field_zh} 不一致：{first} 为 {first_value!r}，{second} 为 {second_value!r}",
        "{field} disagrees: {first} says {first_value!r}, {second} says {second_value!r}",
    ),
    "field_missing": (Severity.ERROR, "缺少字段：{field_zh}", "missing field: {field}"),
    "export_unusable": (
        Severity.ERROR,
        "不是可用的全量发票查询导出，未对账：{source}（{detail}）",
        "not a usable platform export, nothing reconciled: {source} ({detail_en})",
    ),
    "export_other_taxpayer": (
        Severity.ERROR,
        "导出文件属于 {owner}，不是本企业 {tenant} 的，未对账：{source}",
        "the export belongs to {owner}, not to this company {tenant}; nothing reconciled: {source}",
    ),
    "export_not_ours": (
        Severity.ERROR,
        "全量发票查询导出属于 {owner}，不是本账簿的企业，{rows} 行均未导入",
        "the 全量发票查询 export belongs to {owner}, no company of this ledger; none of its {rows} "
        "rows imported",
    ),
    "export_period_mismatch": (
        Severity.ERROR,
        "导出文件没有 {period} 期间的发票（其发票在 {covered}），未对账：{source}",
        "the export has no invoice in {period} (its rows are in {covered}); nothing reconciled: {source}",
    ),
    "export_period_partial": (
        Severity.WARNING,
        "导出文件的发票只在 {covered}，可能未覆盖整个 {period} 期间：{source}",
        "the export's rows only run {covered}; it may not cover all of {period}: {source}",
    ),
    "backup_chunk_missing": (
        Severity.ERROR,
        "备份 {snapshot} 的数据块缺失：{chunk}（{field}）",
        "snapshot {snapshot}: chunk {chunk} is missing ({field})",
    ),
    "backup_chunk_damaged": (
        Severity.ERROR,
        "备份 {snapshot} 的数据块损坏：{chunk}（{field}，{detail}）",
        "snapshot {snapshot}: chunk {chunk} is damaged ({field}, {detail_en})",
    ),
    "pdf_font_missing": (
        Severity.ERROR,
        "找不到可嵌入的中文字体：{detail}。请运行 scripts/system-deps.sh 安装 fonts-wqy-zenhei，"
        "或用环境变量 FAPIAO_CJK_FONT 指定 TrueType 字体文件",
        "no CJK font to embed: {detail}; install fonts-wqy-zenhei (scripts/system-deps.sh) or "
        "point FAPIAO_CJK_FONT at a TrueType font file",
    ),
    "backup_manifest_damaged": (
        Severity.ERROR,
        "备份清单无法读取：{snapshot}（{detail}）",
        "snapshot manifest cannot be read: {snapshot} ({detail_en})",
    ),
    "field_invalid": (
        Severity.ERROR,
        "字段 {field_zh} 的值无效：{detail}",
        "field {field} is invalid: {detail_en}",
    ),
    "tenant_paused": (
        Severity.ERROR,
        "企业已暂停开票：{reason}",
        "invoice operations are paused for this company: {reason}",
    ),
    "verify_not_found": (
        Severity.WARNING,
        "查验：税务平台查无此票（{at}）",
        "查验: the authority does not know this invoice ({at})",
    ),
    "verify_mismatch": (
        Severity.WARNING,
        "查验：税务平台的记录与本票不符：{fields}（{at}）",
        "查验: the authority's record differs in {fields} ({at})",
    ),
    "counterpart_missing": (
        Severity.WARNING,
        "对方企业（{other}）的账上没有这张发票",
        "the counterparty's books ({other}) do not hold this invoice",
    ),
    "counterpart_differs": (
        Severity.WARNING,
        "与对方企业（{other}）账上的同一发票不符：{fields}",
        "differs from the same invoice in the counterparty's books ({other}): {fields}",
    ),
    "review_not_found": (Severity.ERROR, "待复核条目不存在：{id}", "no review item {id}"),
    "review_closed": (
        Severity.ERROR,
        "待复核条目 {id} 已处理（{state}）",
        "review item {id} is already {state}",
    ),
    "field_unknown": (
        Severity.ERROR,
        "无此字段：{field}（可用 number、seller.name、items[1].amount 等）",
        "no such field: {field} (use number, seller.name, items[1].amount …)",
    ),
    "reason_missing": (Severity.ERROR, "请填写拒收理由", "a reason is required"),
    "verify_incomplete": (
        Severity.ERROR,
        "无法查验：缺少 {fields}",
        "cannot 查验: {fields} missing",
    ),
    "verify_failed": (
        Severity.ERROR,
        "查验未得到发票全票面信息：{detail}",
        "查验 did not return the invoice: {detail}",
    ),
    "audit_broken": (
        Severity.ERROR,
        "审计链断裂：{detail}",
        "the audit chain is broken: {detail_en}",
    ),
}

# Codes of refused requests (`Refusal`): nothing was changed. The message of a refusal usually
# names its case more closely than these templates; the code says which kind it is.
REFUSALS: dict[str, tuple[Severity, str, str]] = {
    code: (Severity.ERROR, zh + "：{detail}", en + ": {detail_en}")
    for code, zh, en in (
        ("refused", "请求被拒绝", "refused"),
        ("usage", "请求无法按所给条件执行", "the request cannot run as given"),
        ("not_found", "未找到", "not found"),
        ("state", "当前状态不允许此操作", "not allowed in the current state"),
        ("bad_filter", "筛选条件无效", "bad filter"),
        ("actor_required", "修改须以具名用户进行", "changes need a named user"),
        ("no_user", "没有此用户", "no such user"),
        ("user_disabled", "用户已停用", "the user is disabled"),
        ("bad_category", "类别无效", "bad category"),
        ("four_eyes", "须由另一人复核", "needs a second person"),
        ("materials", "材料不全", "materials missing"),
        ("missing", "缺少必填内容", "required"),
        ("too_long", "内容过长", "too long"),
        ("bad_priority", "优先级无效", "bad priority"),
        ("bad_assignee", "处理人无效", "bad assignee"),
        ("bad_time", "时间无效", "bad time"),
        ("bad_date", "日期无效", "bad date"),
        ("bad_dates", "日期范围无效", "bad date range"),
        ("bad_title", "标题无效", "bad title"),
        ("closed", "已关闭", "closed"),
        ("not_closed", "尚未关闭", "not closed"),
        ("too_many_files", "文件过多", "too many files"),
        ("file_too_large", "文件过大", "file too large"),
        ("no_invoice", "没有此发票", "no such invoice"),
        ("no_incident", "没有此事件", "no such incident"),
    )
}
CATALOG.update(REFUSALS)


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in one input: what (code), where (field), how bad, and why in two languages."""

    code: str
    field: str
    severity: Severity
    message: str  # Chinese
    message_en: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_json(self) -> dict[str, str]:
        return {
            "code": self.code,
            "field": self.field,
            "severity": self.severity.value,
            "message": self.message,
            "message_en": self.message_en,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            field=data.get("field", ""),
            severity=Severity(data.get("severity", "error")),
            message=data.get("message", ""),
            message_en=data.get("message_en", ""),
        )


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


def register(codes: dict[str, tuple[Severity, str, str]]) -> None:
    """Add a capability's finding codes to the one catalog (a code means one thing everywhere)."""
    for code, entry in codes.items():
        if CATALOG.get(code, entry) != entry:
            raise ValueError(f"finding code {code!r} declared twice with different meanings")
        CATALOG[code] = entry


def _entry(code: str) -> tuple[Severity, str, str]:
    if code not in CATALOG:  # a capability's code: its declaration has not been read yet
        import importlib

        importlib.import_module("fapiao.plugins").load_findings()
    return CATALOG[code]


def finding(code: str, field: str = "", severity: Severity | None = None, **params: Any) -> Finding:
    """Build a finding from the catalog; params fill the message templates."""
    default, zh, en = _entry(code)
    values = _Blank(params, field=field)
    values.setdefault("field_zh", field_zh(field))
    values.setdefault("detail_en", params.get("detail", ""))
    return Finding(
        code=code,
        field=field,
        severity=severity or default,
        message=zh.format_map(values),
        message_en=en.format_map(values),
    )


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    return any(f.is_error for f in findings)


class Refusal(Exception):
    """A request refused before anything changed, carrying the finding that says why: its code is
    in the catalog, its messages are Chinese and English. Every refusal of the program is one
    (or a subclass keeping its old constructor), so the CLI and the web answer them alike.

    `usage`: the request cannot be run as given (the CLI exits 2, the web answers 422); otherwise
    the data or the state says no (exit 1, HTTP 409).

    >>> r = Refusal.of("not_found", detail="发票 7", detail_en="invoice 7", usage=True)
    >>> r.code, r.exit_code, r.status, str(r)
    ('not_found', 2, 422, '未找到：发票 7 / not found: invoice 7')
    >>> Refusal(Finding("no_such_code", "", Severity.ERROR, "?", "?"))
    Traceback (most recent call last):
    ...
    KeyError: 'no_such_code'
    """

    usage = False

    def __init__(self, reason: Finding, *, usage: bool | None = None) -> None:
        _entry(reason.code)  # a refusal's code is in the catalog (KeyError: a bug)
        self.finding = reason
        super().__init__(str(self))
        if usage is not None:
            self.usage = usage

    @classmethod
    def of(cls, code: str, field: str = "", *, usage: bool | None = None, **params: Any) -> Refusal:
        """From the catalog's templates, like `finding`."""
        return Refusal(finding(code, field, **params), usage=usage)

    @classmethod
    def said(cls, code: str, zh: str, en: str, field: str = "") -> Finding:
        """The finding of a refusal whose messages are written at the raise site."""
        return Finding(code, field, Severity.ERROR, zh, en)

    @property
    def code(self) -> str:
        return self.finding.code

    @property
    def zh(self) -> str:
        return self.finding.message

    @property
    def en(self) -> str:
        return self.finding.message_en

    @property
    def exit_code(self) -> int:
        return 2 if self.usage else 1

    @property
    def status(self) -> int:
        return 422 if self.usage else 409

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} / {self.en}"

    def __reduce__(self) -> tuple[Any, ...]:
        # whatever a subclass's constructor takes, a refusal crosses a process boundary whole
        return (_revive, (type(self), self.finding, self.usage))

    def to_json(self) -> dict[str, Any]:
        """The one problem shape of the CLI's --json and the web: {"error": {code, message…}}."""
        error = {"code": self.code, "message": self.zh, "message_en": self.en}
        if self.finding.field:
            error["field"] = self.finding.field
        return {"error": error}


def _revive(cls: type[Refusal], reason: Finding, usage: bool) -> Refusal:
    exc = cls.__new__(cls)
    Refusal.__init__(exc, reason, usage=usage)
    return exc
