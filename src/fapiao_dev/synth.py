"""Realistic synthetic invoices for the demo, tests and benchmarks (deterministic under a seed).

Companies get USCCs with valid GB 32100 check digits and valid embedded organisation codes;
numbers follow the real layouts; line taxes are amount × rate rounded to the fen.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

from stdnum.cn import uscc

from fapiao.model import Identity, Invoice, Kind, LineItem, Party, Status
from fapiao.validate.tax_calc import expected_tax

_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_REGIONS = {
    "110108": "北京",
    "310115": "上海",
    "440305": "深圳",
    "330106": "杭州",
    "510107": "成都",
}
_TRADES = ["科技", "贸易", "餐饮管理", "物流", "咨询", "建筑工程", "信息技术", "文化传媒"]
_WORDS = [
    "华信",
    "恒达",
    "中联",
    "锦程",
    "瑞丰",
    "星河",
    "安元",
    "博远",
    "启明",
    "润泽",
    "天成",
    "嘉禾",
]
_ITEMS = [
    ("*信息技术服务*软件开发", "0.06", "项"),
    ("*现代服务*咨询服务", "0.06", "次"),
    ("*电子计算机*笔记本电脑", "0.13", "台"),
    ("*餐饮服务*餐费", "0.06", "次"),
    ("*运输服务*国内道路货物运输服务", "0.09", "次"),
    ("*建筑服务*工程服务", "0.09", "项"),
    ("*纸制品*打印纸", "0.13", "箱"),
    ("*经纪代理服务*代理服务", "0.01", "次"),
]


def org_code(rng: random.Random) -> str:
    body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random, region: str | None = None) -> str:
    dept_type = rng.choice(["91", "91", "91", "92", "52", "Y1"])
    body = dept_type + (region or rng.choice(list(_REGIONS))) + org_code(rng)
    return body + uscc.calc_check_digit(body)


def make_company(rng: random.Random) -> Party:
    region = rng.choice(list(_REGIONS))
    name = (
        f"{_REGIONS[region]}{rng.choice(_WORDS)}{rng.choice(_WORDS)}{rng.choice(_TRADES)}有限公司"
    )
    return Party(name=name, tax_id=make_uscc(rng, region))


class InvoiceFactory:
    """Makes invoices between a home company and a pool of counterparties."""

    def __init__(
        self, seed: int = 1, *, home: Party | None = None, counterparties: int = 40
    ) -> None:
        self.rng = random.Random(seed)
        self.home = home or make_company(self.rng)
        self.others = [make_company(self.rng) for _ in range(counterparties)]
        self._seq = self.rng.randrange(10**9)

    def invoice(
        self,
        *,
        issued: bool | None = None,
        kind: Kind | None = None,
        day: dt.date | None = None,
    ) -> Invoice:
        rng = self.rng
        issued = rng.random() < 0.5 if issued is None else issued
        other = rng.choice(self.others)
        seller, buyer = (self.home, other) if issued else (other, self.home)
        kind = kind or rng.choice(
            [
                Kind.DIGITAL_SPECIAL,
                Kind.DIGITAL_SPECIAL,
                Kind.DIGITAL_NORMAL,
                Kind.VAT_ELECTRONIC_NORMAL,
            ]
        )
        day = day or dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
        items = tuple(self._item() for _ in range(rng.choice([1, 1, 2, 3])))
        amount = sum(i.amount for i in items)
        tax = sum(i.tax for i in items)
        self._seq += 1
        code, number, check_code = self._numbers(kind, day)
        return Invoice(
            kind=kind,
            code=code,
            number=number,
            issue_date=day,
            seller=seller,
            buyer=buyer,
            amount=amount,
            tax=tax,
            total=amount + tax,
            check_code=check_code,
            items=items,
            issuer=rng.choice(["张敏", "李娜", "王芳", "刘洋", "陈静"]),
        )

    def _numbers(self, kind: Kind, day: dt.date) -> tuple[str, str, str]:
        rng = self.rng
        if kind.is_digital:
            province = rng.choice(["11", "31", "44", "33", "51", "32"])
            return "", f"{day.year % 100:02d}{province}{rng.randrange(10)}{self._seq:015d}", ""
        region = rng.choice(["1100", "3100", "4403", "3300"])
        code = f"0{region}{day.year % 100:02d}{rng.randrange(1000):03d}11"
        check = "".join(rng.choice("0123456789") for _ in range(20))
        return code, f"{self._seq % 10**8:08d}", check

    def _item(self) -> LineItem:
        name, rate, unit = self.rng.choice(_ITEMS)
        quantity = self.rng.randrange(1, 20)
        price = self.rng.randrange(100, 500000)  # fen
        amount = quantity * price
        return LineItem(
            name=name,
            unit=unit,
            quantity=str(quantity),
            unit_price=_fen_text(price),
            amount=amount,
            tax_rate=rate,
            tax=expected_tax(amount, rate),
        )

    def red_of(self, blue: Invoice) -> Invoice:
        """A full red-letter invoice reversing `blue`."""
        self._seq += 1
        code, number, check = self._numbers(blue.kind, blue.issue_date)
        items = tuple(
            replace(i, amount=-i.amount, tax=-i.tax, quantity=f"-{i.quantity}") for i in blue.items
        )
        return replace(
            blue,
            code=code,
            number=number,
            check_code=check,
            status=Status.RED,
            original=Identity(blue.code, blue.number),
            amount=-blue.amount,
            tax=-blue.tax,
            total=-blue.total,
            items=items,
        )


def _fen_text(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
