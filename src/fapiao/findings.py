"""Problems in a user's data are values: a Finding with a code, the field, a severity and a message
in Chinese and English. Exceptions are for bugs and I/O only.

Severity `error` rejects the input (it is quarantined); `warning` imports it with the finding attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# code -> (default severity, Chinese template, English template)
CATALOG: dict[str, tuple[Severity, str, str]] = {
    "unreadable": (Severity.ERROR, "无法读取：{detail}", "cannot read: {detail}"),
    "unsupported_format": (
        Severity.ERROR,
        "不支持的文件格式：{detail}",
        "unsupported format: {detail}",
    ),
    "too_large": (Severity.ERROR, "文件过大：{detail}", "too large: {detail}"),
    "hostile": (Severity.ERROR, "疑似恶意文件：{detail}", "hostile input: {detail}"),
    "amount_out_of_range": (
        Severity.ERROR,
        "{field} 金额超出可记录的范围（±10 万亿元）：{value} 分",
        "{field}: amount beyond what a ledger keeps (±10^13 yuan): {value} fen",
    ),
    "ocr_unavailable": (
        Severity.ERROR,
        "需要文字识别（OCR），但未安装 OCR 组件：{detail}",
        "needs OCR, which is not installed: {detail}",
    ),
    "number_invalid": (
        Severity.ERROR,
        "{field}格式不符合{kind}的要求：{value!r}",
        "{field} has the wrong format for {kind}: {value!r}",
    ),
    "tax_id_invalid": (
        Severity.ERROR,
        "纳税人识别号无效（{field}）：{value!r}，{detail}",
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
        "红字发票金额应为负数：{field} = {value}",
        "red invoice must carry negative amounts: {field} = {value}",
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
        "{field} 不一致：{first} 为 {first_value!r}，{second} 为 {second_value!r}",
        "{field} disagrees: {first} says {first_value!r}, {second} says {second_value!r}",
    ),
    "field_missing": (Severity.ERROR, "缺少字段：{field}", "missing field: {field}"),
    "export_unusable": (
        Severity.ERROR,
        "不是可用的全量发票查询导出，未对账：{source}（{detail}）",
        "not a usable platform export, nothing reconciled: {source} ({detail})",
    ),
    "export_other_taxpayer": (
        Severity.ERROR,
        "导出文件属于 {owner}，不是本企业 {tenant} 的，未对账：{source}",
        "the export belongs to {owner}, not to this company {tenant}; nothing reconciled: {source}",
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
        "字段 {field} 的值无效：{detail}",
        "field {field} is invalid: {detail}",
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
}


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
