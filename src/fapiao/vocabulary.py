"""The words a person sees for the ledger's codes, Chinese first and English beside it.

One table per code family (票种, 状态, 方向, 上传状态, 税率), so that the command line, printouts and
pages name a code the same way. Imports nothing of ours.
"""

from __future__ import annotations

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
