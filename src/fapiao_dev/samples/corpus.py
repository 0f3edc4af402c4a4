"""Which invoices a generated corpus holds: every kind, red invoices, rate markers, remarks,
private buyers. Deterministic under a seed; the data itself comes from `fapiao_dev.synth`."""

from __future__ import annotations

import random
from dataclasses import replace

from fapiao.model import RATE_EXEMPT, Invoice, Kind, LineItem, Party
from fapiao_dev.synth import InvoiceFactory

KINDS = (
    Kind.DIGITAL_SPECIAL,
    Kind.DIGITAL_NORMAL,
    Kind.VAT_ELECTRONIC_NORMAL,
    Kind.DIGITAL_SPECIAL,
    Kind.VAT_ELECTRONIC_SPECIAL,
    Kind.DIGITAL_NORMAL,
)
_REMARKS = (
    "项目：办公设备采购",
    "合同编号：HT2024-0173",
    "差旅报销",
    "工程名称：厂区道路维修",
    "订单号：PO88120456",
)
_PEOPLE = ("张伟", "王秀英", "李强", "刘洋")
# QR kind codes (DESIGN.md): 10 电子普票, 20 电子专票, 31/32 数电票 专票/普票.
QR_KIND = {
    Kind.DIGITAL_SPECIAL: "31",
    Kind.DIGITAL_NORMAL: "32",
    Kind.VAT_ELECTRONIC_NORMAL: "10",
    Kind.VAT_ELECTRONIC_SPECIAL: "20",
    Kind.VAT_SPECIAL: "01",
    Kind.VAT_NORMAL: "04",
}


def invoices(count: int, seed: int = 1) -> list[Invoice]:
    """`count` invoices: mostly blue, about one in twelve a red invoice reversing an earlier one."""
    factory = InvoiceFactory(seed)
    rng = random.Random(seed * 7919 + 1)
    out: list[Invoice] = []
    for n in range(count):
        if out and rng.random() < 0.08:
            blue = rng.choice([inv for inv in out if inv.total > 0] or out)
            out.append(_red(factory, blue))
            continue
        inv = factory.invoice(kind=KINDS[n % len(KINDS)])
        if inv.kind is Kind.VAT_ELECTRONIC_SPECIAL:  # 发票代码 kind digits: 13 电子专票
            inv = replace(inv, code=inv.code[:-2] + "13")
        if not inv.kind.is_special and rng.random() < 0.1:
            inv = _exempt(inv)
        if not inv.kind.is_special and rng.random() < 0.06:
            inv = replace(inv, buyer=Party(name=rng.choice(_PEOPLE)))
        if rng.random() < 0.3:
            inv = replace(inv, remarks=rng.choice(_REMARKS))
        out.append(inv)
    return out


def _exempt(inv: Invoice) -> Invoice:
    items = tuple(replace(i, tax_rate=RATE_EXEMPT, tax=0) for i in inv.items)
    amount = sum(i.amount for i in items)
    return replace(inv, items=items, tax=0, amount=amount, total=amount)


def _red(factory: InvoiceFactory, blue: Invoice) -> Invoice:
    red = factory.red_of(blue)
    if red.kind is Kind.VAT_ELECTRONIC_SPECIAL:
        red = replace(red, code=red.code[:-2] + "13")
    if red.kind.is_digital:
        notice = f"{factory.rng.randrange(10**19):020d}"
        remarks = f"被红冲蓝字数电发票号码：{blue.number}红字发票信息确认单编号：{notice}"
    else:
        remarks = f"对应正数发票代码：{blue.code}号码：{blue.number}"
    items: tuple[LineItem, ...] = red.items
    return replace(red, remarks=remarks, items=items)


def qr_payload(inv: Invoice) -> str:
    """The QR text printed on the invoice: 01,kind,code,number,amount,YYYYMMDD,check code,4-hex,"""
    kind = QR_KIND.get(inv.kind, "99")
    value = inv.total if inv.kind.is_digital else inv.amount
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 100)
    amount = f"{sign}{whole}.{part:02d}"
    tail = f"{int(inv.number) * 2654435761 % 65536:04X}"
    return (
        f"01,{kind},{inv.code},{inv.number},{amount},{inv.issue_date:%Y%m%d},{inv.check_code},"
        f"{tail},"
    )
