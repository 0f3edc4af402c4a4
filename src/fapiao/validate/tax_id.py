"""纳税人识别号: the 18-character 统一社会信用代码 (GB 32100 check digit) and the older forms.

- 18 characters: USCC. python-stdnum's `cn.uscc.validate` demands eight leading digits and so
  rejects valid codes whose registering department is a letter (A, N, Y …); we check the format
  ourselves and use stdnum only for the check digit.
- 15 characters: 6-digit region + 9-character organisation code (GB 11714 check), or an old
  15-digit ID-card number.
- 17 characters: an old 15-digit ID-card number + 2 digits.
- 20 characters: an 18-character resident ID (GB 11643 check) + 2 digits.
An empty buyer tax ID is a private person: a warning, not an error. An empty seller tax ID is an error.

Examples (the specification; `fapiao.validate.examples` holds the valid invoice they vary):

>>> from fapiao.validate.examples import Ctx, found, line, sample
>>> from fapiao.model import Party
>>> found(check(sample(), Ctx))
[]
>>> found(check(sample(buyer=Party("张三", "")), Ctx))  # a private person: a warning
['tax_id_missing buyer.tax_id']
>>> found(check(sample(seller=Party("杭州恒达华信物流有限公司", "91330106962172321D")), Ctx))
['tax_id_invalid seller.tax_id']
>>> tax_id_problem("91330106962172321D")
('校验位错误', 'check digit is wrong')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import lru_cache

from stdnum.cn import ric, uscc

from fapiao.findings import Finding, finding
from fapiao.model import Invoice

_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@lru_cache(maxsize=65536)  # the same companies recur on thousands of invoices
def tax_id_problem(tax_id: str) -> tuple[str, str] | None:
    """None when valid, else (Chinese, English) reasons."""
    size = len(tax_id)
    if size == 18:
        return _uscc_problem(tax_id)
    if size == 15:
        if tax_id[:6].isdigit() and _org_code_ok(tax_id[6:]):
            return None
        if tax_id.isdigit() and _old_id_card_date_ok(tax_id[6:12]):
            return None
        return "组织机构代码校验位错误", "organisation code check digit is wrong"
    if size == 17:
        return None if tax_id.isdigit() else ("应为 17 位数字", "must be 17 digits")
    if size == 20:
        if tax_id[18:].isdigit() and ric.is_valid(tax_id[:18]):
            return None
        return "前 18 位不是有效的身份证号", "the first 18 characters are not a valid resident ID"
    return "长度应为 15、17、18 或 20 位", "length must be 15, 17, 18 or 20"


def _uscc_problem(code: str) -> tuple[str, str] | None:
    if any(ch not in _ALPHABET for ch in code):
        return "含有统一社会信用代码不允许的字符", "contains characters a USCC cannot contain"
    if not code[2:8].isdigit():
        return "登记管理机关行政区划码应为 6 位数字", "the region code must be 6 digits"
    if uscc.calc_check_digit(code[:17]) != code[17]:
        return "校验位错误", "check digit is wrong"
    return None


def _old_id_card_date_ok(yymmdd: str) -> bool:
    """A 15-digit ID-card number carries the birth date as YYMMDD (19YY)."""
    try:
        dt.date(1900 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return False
    return True


def _org_code_ok(org: str) -> bool:
    if len(org) != 9 or any(ch not in _ORG_ALPHABET for ch in org[:8]):
        return False
    total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(org[:8], _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    expected = {10: "X", 11: "0"}.get(check, str(check))
    return org[8] == expected


def check(inv: Invoice, ctx: object) -> Iterator[Finding]:
    for role, party in (("seller", inv.seller), ("buyer", inv.buyer)):
        if not party.tax_id:
            if role == "buyer":
                yield finding("tax_id_missing", "buyer.tax_id")
            else:
                yield finding(
                    "tax_id_invalid", "seller.tax_id", value="", detail="缺失", detail_en="missing"
                )
            continue
        problem = tax_id_problem(party.tax_id)
        if problem:
            yield finding(
                "tax_id_invalid",
                f"{role}.tax_id",
                value=party.tax_id,
                detail=problem[0],
                detail_en=problem[1],
            )
