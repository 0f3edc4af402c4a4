"""What a generated invoice says: parties, numbers, and an item table of one of the kinds the
issuing software prints (general goods, 通行费, 货物运输, 不动产经营租赁, 建筑服务, 旅客运输, 成品油,
机动车), with wrapped names, discount lines, rate markers and, for long older invoices, a 销货清单.

Deterministic under a seed. Money in fen; taxes are amount × rate rounded to the fen."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from stdnum.cn import ric

from fapiao.model import (
    RATE_EXEMPT,
    RATE_MARGIN,
    RATE_NONTAXABLE,
    Identity,
    Invoice,
    Kind,
    LineItem,
    Party,
    Status,
)
from fapiao.validate.tax_calc import expected_tax
from fapiao_dev.synth import make_company, make_uscc

TABLES = (
    "general",
    "toll",
    "freight",
    "lease",
    "construction",
    "passenger",
    "petrol",
    "vehicle",
)
_GOODS = (
    ("*电子计算机*笔记本电脑", "ThinkPad X1 Carbon", "台", "0.13"),
    ("*纸制品*复印纸", "A4 70g", "箱", "0.13"),
    ("*信息技术服务*软件开发服务", "", "项", "0.06"),
    ("*现代服务*咨询服务费", "", "次", "0.06"),
    ("*餐饮服务*餐饮服务", "", "次", "0.06"),
    ("*日用杂品*保温杯", "500ml", "个", "0.13"),
    ("*住宿服务*住宿费", "", "天", "0.06"),
    ("*软饮料*饮用天然水", "550ml*24瓶", "箱", "0.13"),
)
# Long names wrap over two or three lines of the name column, as web-shop invoices do.
_LONG = (
    "*移动通信设备*智能手机 8GB+256GB 午夜色 支持移动联通电信5G 双卡双待手机【快充套装】",
    "*服装*休闲裤男女情侣同款 复古风贴标灯芯绒宽松 青年学生百搭长裤 卡其色 XL",
    "*软饮料*饮用天然水550ml*12瓶*2包 塑膜装 家庭办公会议用水 整箱",
)
_PEOPLE = ("张伟", "王秀英", "李强", "刘洋", "陈静", "杨帆")
_CITIES = ("北京市海淀区", "上海市浦东新区", "江苏省苏州市", "广东省深圳市", "浙江省杭州市")
_PLATES = ("苏E", "京A", "沪B", "粤B", "浙A")


@dataclass
class Row:
    """One printed line of the item table: the item and the extra cells its table kind has."""

    item: LineItem
    cells: dict[str, str] = field(default_factory=dict)
    discount: bool = False


@dataclass
class Case:
    """One invoice to draw: the canonical invoice plus what only the paper shows."""

    invoice: Invoice
    layout: str  # "older" (增值税电子发票) or "digital" (数电)
    table: str  # one of TABLES
    rows: list[Row]
    remarks: list[str]
    extra: list[dict[str, str]] = field(default_factory=list)  # 数电 特定业务 rows
    machine: str = ""  # 机器编号
    listed: bool = False  # older invoice whose items are on a 销货清单 page
    words: str = ""

    @property
    def label(self) -> str:
        return f"{self.layout}-{self.table}"


def _legacy_id(rng: random.Random) -> str:
    """A 20-character legacy tax ID: a resident ID (GB 11643 check) and two digits."""
    body = f"{rng.choice(['320102', '110105', '440304'])}19{rng.randrange(60, 99)}0"
    body += f"{rng.randrange(1, 10)}{rng.randrange(10, 29)}{rng.randrange(100, 999)}"
    return body + ric.calc_check_digit(body + "0") + f"{rng.randrange(100):02d}"


def _party(rng: random.Random) -> Party:
    company = make_company(rng)
    if rng.random() < 0.05:
        return Party(company.name.replace("有限公司", "经营部"), _legacy_id(rng))
    return company


def _price(amount: int, quantity: str) -> str:
    """The unit price as issuing software prints it: up to 15 significant digits."""
    value = (Decimal(amount) / 100 / Decimal(quantity)).quantize(Decimal("1e-13"))
    text = f"{value:f}".rstrip("0").rstrip(".")
    return text[:17].rstrip(".")


def _item(rng: random.Random, name: str, rate: str, unit: str = "", spec: str = "") -> LineItem:
    amount = rng.randrange(500, 3_000_000)
    qty = str(rng.randrange(1, 12)) if unit else ""
    if rate in (RATE_EXEMPT, RATE_NONTAXABLE):
        tax = 0
    elif rate == RATE_MARGIN:  # 差额征税: the tax is on the amount less a deduction
        tax = expected_tax(amount * rng.randrange(10, 60) // 100, "0.06")
    else:
        tax = expected_tax(amount, rate)
    price = _price(amount, qty) if qty else ""
    return LineItem(name, amount, rate, tax, spec, unit, qty, price)


def _discount(rng: random.Random, item: LineItem) -> LineItem:
    amount = -max(1, item.amount * rng.randrange(3, 30) // 100)
    tax = 0 if item.tax_rate in (RATE_EXEMPT, RATE_NONTAXABLE) else expected_tax(amount, "0.06")
    if item.tax_rate not in (RATE_EXEMPT, RATE_NONTAXABLE, RATE_MARGIN):
        tax = expected_tax(amount, item.tax_rate)
    return LineItem(item.name, amount, item.tax_rate, tax)


def _general(rng: random.Random, marker: str, count: int) -> list[Row]:
    rows: list[Row] = []
    for _ in range(count):
        name, spec, unit, rate = rng.choice(_GOODS)
        if rng.random() < 0.25:
            name = rng.choice(_LONG)
        item = _item(rng, name, marker or rate, unit, spec)
        rows.append(Row(item))
        if rng.random() < 0.25:
            rows.append(Row(_discount(rng, item), discount=True))
    return rows


def _day(rng: random.Random, start: dt.date, span: int) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(span))


def _rows(rng: random.Random, table: str, marker: str, day: dt.date) -> tuple[list[Row], list]:
    """The item rows, the 特定业务 rows and the remarks of one table kind."""
    if table == "toll":
        plate = f"{rng.choice(_PLATES)}{rng.randrange(10000, 99999)}"
        rate = rng.choice(["0.03", "0.03", "0.09", RATE_NONTAXABLE])
        rows = []
        for _ in range(rng.randrange(1, 4)):
            start = _day(rng, day - dt.timedelta(days=30), 25)
            cells = {"plate": plate, "type": "客车", "start": f"{start:%Y%m%d}"}
            cells["end"] = f"{start + dt.timedelta(days=rng.randrange(2)):%Y%m%d}"
            rows.append(Row(_item(rng, "*经营租赁*通行费", rate), cells))
        return rows, [], [f"车牌号：{plate}"]
    if table == "freight":
        item = _item(rng, "*运输服务*国内道路货物运输服务", "0.09", "次")
        place = rng.sample(_CITIES, 2)
        truck = f"{rng.choice(_PLATES)}{rng.randrange(10000, 99999)}"
        extra = {"vehicle": "货车", "plate": truck, "from": place[0], "to": place[1]}
        extra["goods"] = rng.choice(["机械配件", "纸制品", "电子元件"])
        remarks = [f"起运地：{place[0]} 到达地：{place[1]}", f"车种车号：货车 {truck}"]
        return [Row(item)], [extra], remarks
    if table == "lease":
        item = _item(rng, "*经营租赁*房屋租金", rng.choice(["0.09", "0.05"]), "平方米")
        cert = f"{rng.choice(_CITIES)[:2]}（2021）不动产权第{rng.randrange(10**6, 10**7)}号"
        where = f"{rng.choice(_CITIES)}科技园{rng.randrange(1, 30)}号楼"
        cells = {"cert": cert}
        period = f"{day:%Y-%m-%d} {day + dt.timedelta(days=364):%Y-%m-%d}"
        return [Row(item, cells)], [{"address": where, "period": period}], [f"不动产地址：{where}"]
    if table == "construction":
        where = rng.choice(_CITIES)
        project = f"{where[:2]}{rng.choice(['厂区道路维修', '办公楼装修', '管网改造'])}工程"
        item = _item(rng, "*建筑服务*工程服务", rng.choice(["0.09", "0.03"]), "项")
        return [Row(item)], [{"place": where, "project": project}], [f"建筑服务发生地：{where}"]
    if table == "passenger":
        rows = [Row(_item(rng, "*运输服务*客运服务费", rng.choice(["0.03", "0.09"])))]
        if rng.random() < 0.5:
            rows.append(Row(_discount(rng, rows[0].item), discount=True))
        trips = [
            {
                "who": rng.choice(_PEOPLE),
                "date": f"{_day(rng, day - dt.timedelta(days=20), 19):%Y-%m-%d}",
                "from": rng.choice(_CITIES),
                "to": rng.choice(_CITIES),
                "class": "",
                "vehicle": "出租车",
            }
            for _ in range(rng.randrange(1, 3))
        ]
        return rows, trips, []
    if table == "petrol":
        grade = rng.choice(["92号车用汽油（VIB）", "95号车用汽油（VIB）", "0号车用柴油（VI）"])
        amount = rng.randrange(10_000, 90_000)
        litres = f"{amount / rng.randrange(690, 820):.2f}"
        name = f"*{'柴油' if '柴油' in grade else '汽油'}*{grade}"
        tax = expected_tax(amount, "0.13")
        item = LineItem(name, amount, "0.13", tax, "", "升", litres, _price(amount, litres))
        rows = [Row(item)]
        if rng.random() < 0.4:
            rows.append(Row(_discount(rng, item), discount=True))
        return rows, [], []
    if table == "vehicle":
        vin = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17))
        model = rng.choice(["比亚迪牌BYD7150WT6HEVC1", "大众汽车牌SVW71520FJ", "吉利牌MR7153A02"])
        item = _item(rng, "*小汽车*轿车", "0.13", "辆", model)
        return [Row(item, {"vin": vin, "type": "轿车", "model": model})], [], [f"车架号码：{vin}"]
    return _general(rng, marker, rng.choice([1, 1, 2, 3, 4])), [], []


def case(rng: random.Random, layout: str, table: str, seq: int, force: str = "") -> Case:
    """One invoice; `force` = "listed" (older, with a 销货清单) or "pages" (数电, many items)."""
    kind = {
        ("digital", True): Kind.DIGITAL_SPECIAL,
        ("digital", False): Kind.DIGITAL_NORMAL,
        ("older", True): Kind.VAT_ELECTRONIC_SPECIAL,
        ("older", False): Kind.VAT_ELECTRONIC_NORMAL,
    }[(layout, table not in ("toll", "passenger") and rng.random() < 0.35)]
    day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(365 * 6))
    if layout == "digital":
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(365 * 3))
    marker = ""
    if table == "general" and not kind.is_special and rng.random() < 0.7:
        marker = (RATE_EXEMPT, RATE_NONTAXABLE, RATE_MARGIN)[(seq + seq // len(TABLES)) % 3]
    rows, extra, remarks = _rows(rng, table, marker, day)
    if layout == "digital" and table == "general" and (rng.random() < 0.25 or force == "pages"):
        rows = _general(rng, marker, rng.randrange(8, 14))  # runs over two pages
    listed = layout == "older" and table == "general" and rng.random() < 0.25
    listed = listed or force == "listed"
    if listed:
        rate = rows[0].item.tax_rate
        rows = [r for r in _general(rng, rate, 12) if r.item.tax_rate == rate][:14]
    if marker == RATE_MARGIN:
        remarks.append(f"差额征税：{sum(r.item.amount for r in rows) // 300}.00。")
    seller, buyer = _party(rng), _party(rng)
    if not kind.is_special and rng.random() < 0.1:
        buyer = Party(rng.choice([*_PEOPLE, "个人"]))
    items = tuple(r.item for r in rows)
    amount, tax = sum(i.amount for i in items), sum(i.tax for i in items)
    if layout == "digital":
        province = make_uscc(rng)[2:4]
        code, number, check = "", f"{day.year % 100:02d}{province}2{seq:015d}", ""
    else:
        region = rng.choice(["3100", "3200", "1100", "4403", "3300", "1200"])
        last = "12" if table == "toll" else ("13" if kind.is_special else "11")
        code = f"0{region}{day.year % 100:02d}{rng.randrange(1000):03d}{last}"
        number = f"{seq % 10**8:08d}"
        check = "".join(rng.choice("0123456789") for _ in range(20))
    invoice = Invoice(
        kind=kind,
        number=number,
        issue_date=day,
        seller=seller,
        buyer=buyer,
        amount=amount,
        tax=tax,
        total=amount + tax,
        code=code,
        check_code=check,
        items=items,
        remarks=" ".join(remarks),
        issuer=rng.choice(_PEOPLE),
    )
    if table in ("general", "passenger") and not listed and rng.random() < 0.12:
        invoice, rows, remarks = _red(rng, invoice, rows, remarks)
    machine = "".join(rng.choice("0123456789") for _ in range(12))
    return Case(invoice, layout, table, rows, remarks, extra, machine, listed)


def _red(rng: random.Random, blue: Invoice, rows: list[Row], remarks: list[str]) -> tuple:
    """The red invoice that reverses `blue` in full: every line negative, the blue one named."""
    red_rows = [
        Row(
            replace(
                r.item,
                amount=-r.item.amount,
                tax=-r.item.tax,
                quantity=f"-{r.item.quantity}" if r.item.quantity else "",
            ),
            r.cells,
        )
        for r in rows
        if not r.discount
    ]
    items = tuple(r.item for r in red_rows)
    amount, tax = sum(i.amount for i in items), sum(i.tax for i in items)
    if blue.kind.is_digital:
        notice = "".join(rng.choice("0123456789") for _ in range(20))
        original = Identity("", f"{int(blue.number) - rng.randrange(1, 999):020d}")
        note = f"被红冲蓝字数电发票号码：{original.number} 红字发票信息确认单编号：{notice}"
    else:
        original = Identity(blue.code, f"{(int(blue.number) - rng.randrange(1, 999)) % 10**8:08d}")
        note = f"对应正数发票代码:{original.code}号码:{original.number}"
    remarks = [note, *remarks]
    red = replace(
        blue,
        items=items,
        amount=amount,
        tax=tax,
        total=amount + tax,
        status=Status.RED,
        original=original,
        remarks=" ".join(remarks),
    )
    return red, red_rows, remarks


def cases(count: int, seed: int = 1) -> list[Case]:
    """`count` cases cycling through every layout × table kind; every 32 hold a 销货清单 and a
    multi-page 数电 invoice."""
    rng = random.Random(seed)
    combos = [(layout, table) for table in TABLES for layout in ("older", "digital")]
    base = rng.randrange(10**9)
    force = {16: "listed", 17: "pages"}  # one of each in every 32 cases
    return [
        case(rng, *combos[n % len(combos)], base + n, force.get(n % 32, "")) for n in range(count)
    ]
