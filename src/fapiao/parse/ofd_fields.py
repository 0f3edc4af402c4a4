"""Reading printed invoice values (money, rates, dates, markers) into the model, with findings.

Shared by the structured parsers (数电票 XML, e-invoice XML, XBRL, OFD). A helper module of the
parse package (no `sniff`/`parse`); imports only the model, codec, money and findings.
"""

from __future__ import annotations

import datetime as dt
import re

from fapiao.codec import normalise_rate, parse_date
from fapiao.findings import Finding, finding
from fapiao.model import RATE_EXEMPT, RATE_NONTAXABLE, Identity, Kind
from fapiao.money import MoneyError, parse_yuan

MARKERS = frozenset({"*", "**", "***", "免税", "不征税", "--", "-"})
_RED_DIGITAL = re.compile(r"被红冲蓝字(?:数电)?(?:发票|票)?号码\s*[:：]?\s*(\d{20})")
_RED_OLDER = re.compile(r"对应正数发票代码\s*[:：]?\s*(\d{10,12})\s*号码\s*[:：]?\s*(\d{8})")
_WORDS = re.compile(r"^(（负数）|\(负数\)|负数)?[零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正]+$")


class Reader:
    """Collects findings while reading, so one bad field does not hide the others."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    @property
    def failed(self) -> bool:
        return any(f.is_error for f in self.findings)

    def money(self, text: str | None, field: str, *, marker_zero: bool = False) -> int:
        raw = (text or "").strip().replace("¥", "").replace("￥", "").replace(" ", "")
        if not raw:
            self.findings.append(finding("field_missing", field))
            return 0
        if raw in MARKERS:
            if marker_zero:
                return 0
            self.findings.append(
                finding(
                    "field_invalid",
                    field,
                    detail=f"{raw!r} 不是金额",
                    detail_en=f"{raw!r} is not an amount",
                )
            )
            return 0
        try:
            return parse_yuan(raw)
        except MoneyError as exc:
            self.findings.append(finding("field_invalid", field, detail=exc.zh, detail_en=str(exc)))
            return 0

    def optional_money(self, text: str | None) -> int | None:
        raw = (text or "").strip().replace("¥", "").replace("￥", "").replace(" ", "")
        if not raw:
            return None
        if raw in MARKERS:
            return 0
        try:
            return parse_yuan(raw)
        except MoneyError:
            return None

    def date(self, text: str | None, field: str = "issue_date") -> dt.date:
        value = parse_date(text or "")
        if value is None:
            self.findings.append(finding("date_invalid", field, detail=repr(text or "")))
            return dt.date(1970, 1, 1)
        return value

    def rate(self, text: str | None, tax_text: str | None, field: str, line: int) -> str:
        """Printed 税率 -> canonical rate; markers stay markers (免税, 不征税 `*`, 差额征税 `***`)."""
        raw = (text or "").strip()
        rate = printed_rate(raw, tax_text)
        if rate is None:
            self.findings.append(finding("tax_rate_invalid", field, line=line, value=raw))
            return raw
        return rate


def printed_rate(text: str | None, tax_text: str | None) -> str | None:
    """A printed rate in canonical form: an empty rate beside tax `***` is 免税, beside `*` 不征税;
    None when the text is no rate."""
    raw = (text or "").strip()
    tax_raw = (tax_text or "").strip()
    if not raw and tax_raw == "***":
        return RATE_EXEMPT
    if not raw and tax_raw == "*":
        return RATE_NONTAXABLE
    return normalise_rate(raw)


def clean_number(text: str | None) -> str:
    """发票号码 / 代码 / 校验码 as printed, without spaces or a leading №."""
    return "".join((text or "").replace("№", "").replace("No", "").split())


def original_from_remarks(remarks: str) -> Identity | None:
    """The blue invoice a red one reverses, as the 备注 names it."""
    match = _RED_DIGITAL.search(remarks)
    if match:
        return Identity("", match.group(1))
    match = _RED_OLDER.search(remarks)
    if match:
        return Identity(match.group(1), match.group(2))
    return None


def kind_from_code(code: str, title: str = "") -> Kind:
    """Older invoices: the 12-digit 发票代码 ends in the kind (11 电子普票, 13 电子专票 …)."""
    if "电子" in title or (len(code) == 12 and code.isdigit()):
        if "专用" in title or code[-2:] == "13":
            return Kind.VAT_ELECTRONIC_SPECIAL
        return Kind.VAT_ELECTRONIC_NORMAL
    if len(code) == 10:
        return Kind.VAT_NORMAL if "普通" in title else Kind.VAT_SPECIAL
    return Kind.OTHER


def kind_from_title(title: str, number: str) -> Kind | None:
    """The printed title: 电子发票（增值税专用发票） for 数电票, 增值税电子普通发票 for older ones."""
    digital = len(number) == 20
    if "专用发票" in title:
        return Kind.DIGITAL_SPECIAL if digital else Kind.VAT_ELECTRONIC_SPECIAL
    if "普通发票" in title:
        return Kind.DIGITAL_NORMAL if digital else Kind.VAT_ELECTRONIC_NORMAL
    return None


def is_words(text: str) -> bool:
    """Text that is an amount in 大写 (价税合计（大写）)."""
    return bool(_WORDS.match("".join(text.split())))


def words_in(text: str) -> str:
    """Strip glyph decorations (ⓧ, ⊗) printed before an amount in words."""
    return "".join(ch for ch in text if not ch.isspace() and ch not in "ⓧ⊗✕×")
