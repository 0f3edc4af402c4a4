"""Voucher export for 用友 and 金蝶, on SQLite and PostgreSQL: the templates' columns, one balanced
voucher per invoice, 进项税额 on its own line only for an invoice selected for deduction, 科目 from
the tenant's mapping, red invoices as negative amounts."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from fapiao.money import format_fen
from fapiao.voucher.templates import KINGDEE, YONYOU
from tests.inbound_support import Books, make_books


@pytest.fixture
def books(db_url: str, tmp_path: Path) -> Books:
    b = make_books(db_url, tmp_path)
    yield b
    b.ledger.engine.dispose()


def sheet_rows(path: Path) -> list[tuple]:
    return list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))


def money(v) -> Decimal:
    return Decimal(str(v)) if v not in (None, "") else Decimal(0)


def test_both_formats_balanced_with_the_mapping(books: Books, tmp_path: Path) -> None:
    t = str(books.tenant)
    r0, r1 = books.received[:2]
    assert books.cli("deduct", "select", r0.number, "--tenant", t, "--period", "2024-11").exit_code == 0  # fmt: skip
    _, shown = books.cli_json("show", r1.number)
    category = shown["category"]
    res = books.cli("voucher", "map", "set", category, "--tenant", t, "--account", "660299", "--name", "测试科目")  # fmt: skip
    assert res.exit_code == 0, res.output

    y, k = tmp_path / "y.xlsx", tmp_path / "k.xlsx"
    for fmt, path in (("yonyou", y), ("kingdee", k)):
        res = books.cli("voucher", "export", "--tenant", t, "--period", "2024-11", "--format", fmt, "--out", str(path))  # fmt: skip
        assert res.exit_code == 0, res.output
    yrows, krows = sheet_rows(y), sheet_rows(k)
    assert list(yrows[0]) == YONYOU and list(krows[0]) == KINGDEE

    by_voucher = defaultdict(lambda: [Decimal(0), Decimal(0), []])
    for r in yrows[1:]:
        v = by_voucher[r[1]]
        v[0] += money(r[7])
        v[1] += money(r[8])
        v[2].append(r)
    assert len(by_voucher) == len(books.received) + 1 + 3  # received, red, three issued
    for debit, credit, _ in by_voucher.values():
        assert debit == credit

    def lines_of(number: str) -> list[tuple]:
        return next(v[2] for v in by_voucher.values() if number in v[2][0][4])

    deducted = lines_of(r0.number)
    main = "660299" if books.cli_json("show", r0.number)[1]["category"] == category else "6602"
    assert [r[5] for r in deducted] == [main, "22210101", "2202"]
    assert money(deducted[1][7]) == Decimal(format_fen(r0.tax))
    not_deducted = lines_of(r1.number)
    assert [r[5] for r in not_deducted] == ["660299", "2202"]
    assert money(not_deducted[0][7]) == Decimal(format_fen(r1.total))
    red = lines_of(books.red.number)
    assert red[0][4].startswith("红字冲销") and money(red[-1][8]) == Decimal(
        format_fen(books.red.total)
    )
    issued = lines_of(books.issued.number)
    assert [r[5] for r in issued] == ["1122", "6001", "22210106"] and issued[0][9]

    # 金蝶: the same entries, numbered within each voucher, the supplier as 核算项目
    assert sum(money(r[11]) for r in krows[1:]) == sum(money(r[7]) for r in yrows[1:])
    first = [r for r in krows[1:] if r[3] == 1]
    assert [r[4] for r in first] == list(range(1, len(first) + 1)) and first[0][1] == 11
    assert any(str(r[15]).startswith("供应商---") for r in krows[1:])
    assert books.cli("voucher", "export", "--tenant", t, "--period", "2024-11", "--format", "sap", "--out", str(y)).exit_code == 2  # fmt: skip
