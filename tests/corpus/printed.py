"""How values are printed on the paper: rates and markers, taxes, wrapped names, the QR payload,
and the party details (address, bank) that the canonical invoice does not keep."""

from __future__ import annotations

import random
from decimal import Decimal

from fapiao.model import RATE_EXEMPT, RATE_MARGIN, RATE_NONTAXABLE, Invoice, Kind, LineItem
from fapiao.money import format_fen
from tests.corpus.draw import SONG, width

QR_KIND = {
    Kind.DIGITAL_SPECIAL: "31",
    Kind.DIGITAL_NORMAL: "32",
    Kind.VAT_ELECTRONIC_NORMAL: "10",
    Kind.VAT_ELECTRONIC_SPECIAL: "20",
    Kind.VAT_SPECIAL: "01",
    Kind.VAT_NORMAL: "04",
}
REGION = {"3100": "上海", "3200": "江苏", "1100": "北京", "4403": "深圳", "3300": "浙江"}
REGION["1200"] = "天津"
_STREETS = ("人民路", "建设大道", "解放东路", "科技园南区", "金鸡湖大道", "中山北路")
_CITIES = ("上海市", "苏州市", "北京市", "深圳市", "杭州市", "天津市")
_BANKS = ("中国工商银行", "中国建设银行", "招商银行", "中国农业银行", "交通银行")


def rate_text(rate: str) -> str:
    if rate in (RATE_EXEMPT, RATE_NONTAXABLE, RATE_MARGIN):
        return {RATE_EXEMPT: "免税", RATE_NONTAXABLE: "不征税", RATE_MARGIN: "***"}[rate]
    return f"{(Decimal(rate) * 100).normalize():f}%" if rate else ""


def tax_text(item: LineItem) -> str:
    if item.tax_rate in (RATE_EXEMPT, RATE_NONTAXABLE):
        return "***"
    return format_fen(item.tax)


def money(fen: int) -> str:
    return format_fen(fen)


def wrap(text: str, width_mm: float, size: float) -> list[str]:
    """Lines of `text` that fit the column, cut anywhere as issuing software cuts."""
    lines, cur = [], ""
    for ch in text:
        if cur and width(cur + ch, SONG, size) > width_mm:
            lines.append(cur)
            cur = ""
        cur += ch
    return [*lines, cur]


def qr_payload(inv: Invoice, rng: random.Random) -> str:
    """01,kind,code,number,amount,YYYYMMDD,check,hex[,] — 数电票 carry 价税合计 and no trailing
    comma; older invoices carry 合计金额 and end with a comma. Amounts lose trailing zeros now and
    then, as real codes do."""
    value = inv.total if inv.kind.is_digital else inv.amount
    amount = format_fen(value)
    if rng.random() < 0.2:
        amount = amount.rstrip("0").rstrip(".")
    tail = f"{rng.randrange(65536):04X}"
    fields = ["01", QR_KIND[inv.kind], inv.code, inv.number, amount]
    fields += [f"{inv.issue_date:%Y%m%d}", inv.check_code, tail]
    return ",".join(fields) + ("" if inv.kind.is_digital else ",")


def address(rng: random.Random) -> str:
    phone = f"0{rng.randrange(10, 999)}-{rng.randrange(10**7, 10**8)}"
    return f"{rng.choice(_CITIES)}{rng.choice(_STREETS)}{rng.randrange(1, 999)}号 {phone}"


def bank(rng: random.Random) -> str:
    account = "".join(rng.choice("0123456789") for _ in range(rng.randrange(12, 20)))
    return f"{rng.choice(_BANKS)}股份有限公司{rng.choice(_CITIES)[:2]}分行{account}"


def cipher(rng: random.Random) -> list[str]:
    """The 密码区: four lines of digits and + - * / < >."""
    alphabet = "0123456789+-*/<>"
    return ["".join(rng.choice(alphabet) for _ in range(27)) for _ in range(4)]
