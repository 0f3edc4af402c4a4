"""The vouchers of a month: one per invoice, its lines (分录) in fen, accounts from the mapping.

Received (进项): 借 the category's expense account, 借 进项税额 when the invoice is selected for
deduction in a 勾选 period (otherwise its tax is part of the cost), 贷 应付账款 (the supplier).
Issued (销项): 借 应收账款 (the customer), 贷 the category's revenue account, 贷 销项税额.
A red invoice gives the same lines with negative amounts (红字冲销), as the import templates expect.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from fapiao.deduct.tables import selections
from fapiao.findings import Finding, finding
from fapiao.insight.annotate import annotate
from fapiao.ledger import queries
from fapiao.ledger.listing import Listing
from fapiao.ledger.store import Ledger
from fapiao.money import parse_yuan
from fapiao.voucher.tables import accounts

DEFAULTS = {
    ("received", "_default"): ("6602", "管理费用"),
    ("received", "_tax"): ("22210101", "应交税费—应交增值税（进项税额）"),
    ("received", "_party"): ("2202", "应付账款"),
    ("issued", "_default"): ("6001", "主营业务收入"),
    ("issued", "_tax"): ("22210106", "应交税费—应交增值税（销项税额）"),
    ("issued", "_party"): ("1122", "应收账款"),
}


@dataclass(frozen=True, slots=True)
class Line:
    """One 分录: account, debit or credit in fen (one of them zero), the counterparty if any."""

    code: str
    name: str
    debit: int
    credit: int
    party_kind: str = ""  # 供应商 / 客户
    party_name: str = ""
    party_tax_id: str = ""


@dataclass(frozen=True, slots=True)
class Voucher:
    number: int
    date: dt.date
    summary: str  # 摘要
    invoice_key: str
    lines: tuple[Line, ...]


def set_account(
    ledger: Ledger, *, tenant_id: int, direction: str, category: str, code: str, name: str
) -> list[Finding]:
    if direction not in ("received", "issued"):
        return [
            finding(
                "voucher_account_invalid",
                "direction",
                detail=f"方向 {direction}",
                detail_en=f"direction {direction}",
            )
        ]
    if not code.strip() or not category.strip():
        return [
            finding(
                "voucher_account_invalid",
                "code",
                detail="科目编码和类别不能为空",
                detail_en="category and code are required",
            )
        ]
    values = {"code": code.strip(), "name": name.strip(), "updated_at": ""}
    key = {"tenant_id": tenant_id, "direction": direction, "category": category.strip()}
    with ledger.write() as tx:
        values["updated_at"] = tx.now
        where = [accounts.c[k] == v for k, v in key.items()]
        if tx.conn.execute(select(accounts.c.code).where(*where)).first():
            tx.conn.execute(update(accounts).where(*where).values(**values))
        else:
            tx.conn.execute(insert(accounts).values(**key, **values))
        tx.event(
            "voucher.account_set",
            "voucher_account",
            f"{tenant_id}:{direction}:{category}",
            {**key, **values},
            tenant_id=tenant_id,
        )
    return []


def mapping(conn: Connection, tenant_id: int) -> dict[tuple[str, str], tuple[str, str]]:
    out = dict(DEFAULTS)
    for r in conn.execute(select(accounts).where(accounts.c.tenant_id == tenant_id)):
        out[(r.direction, r.category)] = (r.code, r.name)
    return out


def vouchers(ledger: Ledger, *, tenant_id: int, period: str) -> list[Voucher]:
    rows = list(
        annotate(
            ledger,
            queries.list_invoices(
                ledger.engine, Listing(tenant=str(tenant_id), period=period, desc=False)
            ),
        )
    )
    with ledger.engine.connect() as conn:
        accts = mapping(conn, tenant_id)
        deducted = {
            str(r.invoice_id)
            for r in conn.execute(
                select(selections.c.invoice_id).where(
                    selections.c.tenant_id == tenant_id, selections.c.purpose == "deduct"
                )
            )
        }
    out = []
    for n, row in enumerate((r for r in rows if r["status"] != "void" and r["number"]), start=1):
        out.append(_voucher(n, row, accts, row["id"] in deducted))
    return out


def _voucher(n: int, row: dict[str, Any], accts: dict[Any, Any], deducted: bool) -> Voucher:
    direction = row["direction"]
    amount, tax = parse_yuan(row["amount"]), parse_yuan(row["tax"])
    total = amount + tax
    cat = row.get("category") or ""
    main = accts.get((direction, cat)) or accts[(direction, "_default")]
    tax_acct, party = accts[(direction, "_tax")], accts[(direction, "_party")]
    key = f"{row['code']}-{row['number']}" if row["code"] else row["number"]
    if direction == "received":
        other = row["seller"]
        lines = [Line(*main, debit=amount if deducted else total, credit=0)]
        if deducted:
            lines.append(Line(*tax_acct, debit=tax, credit=0))
        lines.append(
            Line(
                *party,
                debit=0,
                credit=total,
                party_kind="供应商",
                party_name=other["name"],
                party_tax_id=other["tax_id"],
            )
        )
        summary = f"收到{other['name']}发票 {key}"
    else:
        other = row["buyer"]
        lines = [
            Line(
                *party,
                debit=total,
                credit=0,
                party_kind="客户",
                party_name=other["name"],
                party_tax_id=other["tax_id"],
            ),
            Line(*main, debit=0, credit=amount),
            Line(*tax_acct, debit=0, credit=tax),
        ]
        summary = f"开具{other['name']}发票 {key}"
    if row["status"] == "red":
        summary = "红字冲销：" + summary
    return Voucher(n, dt.date.fromisoformat(row["issue_date"]), summary, key, tuple(lines))
