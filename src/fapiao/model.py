"""The canonical invoice: immutable records, money in fen. Pure: imports nothing of ours, no I/O.

Field names follow the canonical JSON in DESIGN.md; the Chinese term beside each field is what is
printed on the paper.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import attrgetter


class Kind(StrEnum):
    """票种."""

    DIGITAL_SPECIAL = "digital_special"  # 数电票（增值税专用发票）
    DIGITAL_NORMAL = "digital_normal"  # 数电票（普通发票）
    VAT_ELECTRONIC_SPECIAL = "vat_electronic_special"  # 增值税电子专用发票
    VAT_ELECTRONIC_NORMAL = "vat_electronic_normal"  # 增值税电子普通发票
    VAT_SPECIAL = "vat_special"  # 增值税专用发票（纸质）
    VAT_NORMAL = "vat_normal"  # 增值税普通发票（纸质）
    OTHER = "other"

    @property
    def is_digital(self) -> bool:
        return self in (Kind.DIGITAL_SPECIAL, Kind.DIGITAL_NORMAL)

    @property
    def is_paper(self) -> bool:
        return self in (Kind.VAT_SPECIAL, Kind.VAT_NORMAL)

    @property
    def is_special(self) -> bool:
        return self in (Kind.DIGITAL_SPECIAL, Kind.VAT_ELECTRONIC_SPECIAL, Kind.VAT_SPECIAL)


class Status(StrEnum):
    """发票状态: 正常 / 红字 / 作废."""

    NORMAL = "normal"
    RED = "red"
    VOID = "void"


class Direction(StrEnum):
    """销项 (we are the seller) or 进项 (we are the buyer)."""

    ISSUED = "issued"
    RECEIVED = "received"


# Tax-rate markers that are printed, never numbers.
RATE_EXEMPT = "exempt"  # 免税, tax printed ***
RATE_NONTAXABLE = "nontaxable"  # 不征税, rate and tax printed *
RATE_MARGIN = "margin"  # 差额征税, rate printed ***
RATE_MARKERS = frozenset({RATE_EXEMPT, RATE_NONTAXABLE, RATE_MARGIN})


@dataclass(frozen=True, slots=True)
class Identity:
    """An invoice's identity: a 数电票 is its 20-digit 发票号码; an older one is (发票代码, 发票号码)."""

    code: str
    number: str

    @property
    def key(self) -> str:
        """One string per identity: the number, or code-number for older invoices."""
        return f"{self.code}-{self.number}" if self.code else self.number

    @classmethod
    def from_key(cls, key: str) -> Identity:
        code, _, number = key.rpartition("-")
        return cls(code=code, number=number)


@dataclass(frozen=True, slots=True)
class Party:
    """销售方 / 购买方: 名称 and 纳税人识别号 (统一社会信用代码). An empty tax_id means absent."""

    name: str
    tax_id: str = ""


@dataclass(frozen=True, slots=True)
class LineItem:
    """One 货物或应税劳务、服务 line. Money in fen; quantity and unit_price keep their printed decimals."""

    name: str  # 项目名称, e.g. *信息技术服务*软件开发
    amount: int  # 金额 (fen, excl. tax)
    tax_rate: str  # 税率: "0.13" … or exempt / nontaxable / margin
    tax: int  # 税额 (fen)
    spec: str = ""  # 规格型号
    unit: str = ""  # 单位
    quantity: str = ""  # 数量
    unit_price: str = ""  # 单价


@dataclass(frozen=True, slots=True)
class Invoice:
    """One 发票 in canonical form."""

    kind: Kind  # 票种
    number: str  # 发票号码
    issue_date: dt.date  # 开票日期 (the invoice's own calendar date, Asia/Shanghai)
    seller: Party  # 销售方
    buyer: Party  # 购买方
    amount: int  # 合计金额 (fen, excl. tax)
    tax: int  # 合计税额 (fen)
    total: int  # 价税合计 (fen)
    code: str = ""  # 发票代码 (older invoices only)
    check_code: str = ""  # 校验码 (older invoices only)
    status: Status = Status.NORMAL  # 正常 / 红字 / 作废
    original: Identity | None = None  # 红字发票 names the blue invoice it reverses
    items: tuple[LineItem, ...] = field(default_factory=tuple)
    remarks: str = ""  # 备注
    issuer: str = ""  # 开票人
    total_words: str = ""  # 价税合计（大写） as printed, when the source carries it

    @property
    def identity(self) -> Identity:
        return Identity(code=self.code, number=self.number)


def _pickled_by_fields(cls: type) -> None:
    """Pickle as (class, field values): a large import sends every parsed invoice from the parser
    process to the writer, and the dataclass default (a state dict built through `fields()` per
    object) cost more than parsing the JSON did."""
    pick = attrgetter(*(f.name for f in fields(cls)))
    cls.__reduce__ = lambda self: (cls, pick(self))  # type: ignore[attr-defined]


for _cls in (Identity, Party, LineItem, Invoice):
    _pickled_by_fields(_cls)


@dataclass(frozen=True, slots=True)
class AuthorityRecord:
    """What the tax platform holds for one invoice: a row of its 全量发票查询 export or its API list.

    `status` is canonical (normal / red / void); `platform_status` keeps the platform's own words
    (正常, 已红冲-全额, 已红冲-部分, 已作废 …). The 勾选 fields are known only where the list carries
    them (an export with 勾选状态, 用途, 税款所属期 columns, an API list with `deduction`, for
    received invoices); "" says nothing.
    """

    code: str  # 发票代码 ("" for 数电票)
    number: str  # 发票号码 / 数电发票号码
    kind: Kind
    issue_date: dt.date
    seller: Party
    buyer: Party
    amount: int  # 金额 (fen)
    tax: int  # 税额 (fen)
    total: int  # 价税合计 (fen)
    status: Status = Status.NORMAL
    platform_status: str = ""  # 发票状态 as the platform writes it
    original: Identity | None = None  # 红字: the blue invoice it reverses, when the platform says
    source: str = ""  # 发票来源
    risk: str = ""  # 发票风险等级
    issuer: str = ""  # 开票人
    remarks: str = ""  # 备注
    deduct_state: str = ""  # 勾选状态: selected 已勾选 / unselected 未勾选 / "" not said
    deduct_purpose: str = ""  # 用途: deduct 抵扣 / no_deduct 不抵扣
    deduct_period: str = ""  # 税款所属期 YYYY-MM

    @property
    def identity(self) -> Identity:
        return Identity(code=self.code, number=self.number)

    def invoice(self) -> Invoice:
        """The invoice as far as the platform's record says: its head, without line items or
        check code (the list carries neither)."""
        return Invoice(
            kind=self.kind,
            number=self.number,
            issue_date=self.issue_date,
            seller=self.seller,
            buyer=self.buyer,
            amount=self.amount,
            tax=self.tax,
            total=self.total,
            code=self.code,
            status=self.status,
            original=self.original,
            remarks=self.remarks,
            issuer=self.issuer,
        )
