"""The lines of a red invoice: the whole blue invoice negated (`--all`), or the lines and amounts
asked for (`--items '[{"line": 1, "amount": "50.00", "tax": "6.50"}]'`), never beyond a blue line.

Line numbers are the blue invoice's own, from 1. A tax left out is the amount times the line's rate,
rounded half up to the fen (0 for 免税 / 不征税 lines; a 差额征税 line needs it given).
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from fapiao.model import LineItem
from fapiao.money import MoneyError, format_fen, parse_yuan


class LinesError(ValueError):
    """The lines asked for are not usable; zh and en say why."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


def negated(items: tuple[LineItem, ...]) -> list[LineItem]:
    return [
        replace(
            it,
            amount=-it.amount,
            tax=-it.tax,
            quantity=f"-{it.quantity}"
            if it.quantity and not it.quantity.startswith("-")
            else it.quantity,
        )
        for it in items
    ]


def _tax_for(amount: int, rate: str) -> int:
    try:
        value = Decimal(rate)
    except InvalidOperation:
        if rate in ("exempt", "nontaxable"):
            return 0
        raise LinesError(
            f"税率为 {rate} 的行须给出税额", f"a {rate} line needs its tax given"
        ) from None
    return int((Decimal(amount) * value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def asked(items: tuple[LineItem, ...], spec: str) -> list[tuple[int, LineItem]]:
    """(blue line number, red line) for each line the JSON names; LinesError when it is unusable."""
    try:
        wanted = json.loads(spec)
    except ValueError as exc:
        raise LinesError(f"不是 JSON：{exc}", f"not JSON: {exc}") from exc
    if not isinstance(wanted, list) or not wanted:
        raise LinesError("应为非空数组", "expected a non-empty array")
    out: list[tuple[int, LineItem]] = []
    seen = set()
    for w in wanted:
        if not isinstance(w, dict) or not isinstance(w.get("line"), int):
            raise LinesError(
                "每项须有 line（行号，从 1 起）", "each entry needs a line number (from 1)"
            )
        n = w["line"]
        if not 1 <= n <= len(items) or n in seen:
            raise LinesError(f"行号无效或重复：{n}", f"no such line, or named twice: {n}")
        seen.add(n)
        blue = items[n - 1]
        try:
            amount = abs(parse_yuan(str(w.get("amount", ""))))
            tax = abs(parse_yuan(str(w["tax"]))) if "tax" in w else _tax_for(amount, blue.tax_rate)
        except MoneyError as exc:
            raise LinesError(f"第 {n} 行金额无效", f"line {n}: bad amount ({exc})") from exc
        if amount == 0:
            raise LinesError(f"第 {n} 行金额为零", f"line {n}: the amount is zero")
        quantity = str(w.get("quantity", ""))
        out.append(
            (
                n,
                replace(
                    blue,
                    amount=-amount,
                    tax=-tax,
                    quantity=f"-{quantity.lstrip('-')}" if quantity else "",
                    unit_price=blue.unit_price if quantity else "",
                ),
            )
        )
    return out


def to_json(lines: list[tuple[int, LineItem]]) -> list[dict[str, Any]]:
    return [
        {
            "line": n,
            "name": it.name,
            "spec": it.spec,
            "unit": it.unit,
            "quantity": it.quantity,
            "unit_price": it.unit_price,
            "amount": format_fen(it.amount),
            "tax_rate": it.tax_rate,
            "tax": format_fen(it.tax),
        }
        for n, it in lines
    ]


def from_json(data: list[dict[str, Any]]) -> list[tuple[int, LineItem]]:
    return [
        (
            d["line"],
            LineItem(
                name=d["name"],
                amount=parse_yuan(d["amount"]),
                tax_rate=d["tax_rate"],
                tax=parse_yuan(d["tax"]),
                spec=d["spec"],
                unit=d["unit"],
                quantity=d["quantity"],
                unit_price=d["unit_price"],
            ),
        )
        for d in data
    ]
