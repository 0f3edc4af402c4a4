"""Cross-checks between two sources of one invoice (attachment vs CustomData vs page text vs QR).

The QR payload is comma-separated: `01,kind,code,number,amount,YYYYMMDD,check code,4-hex,`.
kind 10 电子普票, 08/20 电子专票, 01 专票, 04 普票 (amount excl. tax); 31/32 数电票 专票/普票 (code and
check code empty, amount = 价税合计). Amounts may lack trailing zeros (`57`, `6.2`): compared by value.

A helper module of the parse package (no `sniff`/`parse`); imports only the model, money, findings.
"""

from __future__ import annotations

from dataclasses import dataclass

from fapiao.findings import Finding, finding
from fapiao.model import Invoice, Kind
from fapiao.money import MoneyError, format_fen, parse_yuan

QR_KINDS = {
    "31": Kind.DIGITAL_SPECIAL,
    "32": Kind.DIGITAL_NORMAL,
    "10": Kind.VAT_ELECTRONIC_NORMAL,
    "08": Kind.VAT_ELECTRONIC_SPECIAL,
    "20": Kind.VAT_ELECTRONIC_SPECIAL,
    "01": Kind.VAT_SPECIAL,
    "04": Kind.VAT_NORMAL,
}


@dataclass(frozen=True, slots=True)
class QrPayload:
    kind_code: str
    code: str
    number: str
    amount: int | None  # fen: 价税合计 for 数电票 (31/32), else 合计金额
    date: str  # YYYYMMDD
    check_code: str

    @property
    def digital(self) -> bool:
        """A 数电票 of any kind: 31/32, or the 20-digit number without a code that tickets
        (铁路电子客票, 航空运输电子客票行程单) carry under kind codes of their own."""
        return self.kind_code in ("31", "32") or (len(self.number) == 20 and not self.code)

    @property
    def kind(self) -> Kind | None:
        found = QR_KINDS.get(self.kind_code)
        return Kind.DIGITAL_NORMAL if found is None and self.digital else found

    @property
    def amount_is_total(self) -> bool:
        return self.digital


def parse_payload(text: str) -> QrPayload | None:
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 7 or parts[0] != "01":
        return None
    try:
        amount: int | None = parse_yuan(parts[4]) if parts[4] else None
    except MoneyError:
        amount = None
    return QrPayload(parts[1], parts[2], parts[3], amount, parts[5], parts[6])


def mismatch(field: str, first: str, first_value: str, second: str, second_value: str) -> Finding:
    return finding(
        "source_mismatch",
        field,
        first=first,
        first_value=first_value,
        second=second,
        second_value=second_value,
    )


def compare(inv: Invoice, other: dict[str, object], *, first: str, second: str) -> list[Finding]:
    """Fields of `inv` against another source's readings (only the fields that source has).

    Keys: code, number, issue_date (date or YYYY-MM-DD), amount/tax/total (fen), check_code,
    seller.tax_id, buyer.tax_id, seller.name, buyer.name.
    """
    out = []
    for field, theirs in other.items():
        if theirs in (None, ""):
            continue
        ours = _value(inv, field)
        if field in ("amount", "tax", "total"):
            if ours != theirs:
                out.append(
                    mismatch(field, first, format_fen(int(ours)), second, format_fen(int(theirs)))  # type: ignore[call-overload]
                )
            continue
        if _norm(str(ours)) != _norm(str(theirs)):
            out.append(mismatch(field, first, str(ours), second, str(theirs)))
    return out


def check_qr(inv: Invoice, payload: QrPayload, where: str, *, first: str) -> list[Finding]:
    other: dict[str, object] = {
        "number": payload.number,
        "code": payload.code,
        "issue_date": _iso(payload.date),
        "check_code": payload.check_code,
    }
    if payload.amount is not None:
        other["total" if payload.amount_is_total else "amount"] = payload.amount
    return compare(inv, other, first=first, second=f"QR ({where})")


def _iso(yyyymmdd: str) -> str:
    if len(yyyymmdd) == 8 and yyyymmdd.isdigit():
        return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"
    return yyyymmdd


def _value(inv: Invoice, field: str) -> object:
    if field == "issue_date":
        return inv.issue_date.isoformat()
    if "." in field:
        party, _, attr = field.partition(".")
        return getattr(getattr(inv, party), attr)
    return getattr(inv, field)


def _norm(text: str) -> str:
    return "".join(text.split()).upper()
