"""Statistics per tenant and period, read from the derived tables' covering indexes.

Each query groups in the order of an index (tenant, direction, …), so SQLite aggregates while it
walks the index, without sorting; PostgreSQL does the same with an index-only scan or a hash. The
month cube, the counterparties and the lines are three queries; everything else is summed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from fapiao.insight import facts
from fapiao.insight.classify import DEFAULT_TABLE, load_table
from fapiao.insight.tables import insight_invoices as ii
from fapiao.insight.tables import insight_lines as il
from fapiao.insight.tables import verifications as vt
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.money import format_fen, parse_yuan

DIRECTIONS = ("issued", "received")


class PeriodError(ValueError):
    pass


def month_range(period: str | None) -> tuple[str, str] | None:
    """'2024-11' -> ('2024-11', '2024-11'); '2024' -> ('2024-01', '2024-12'); None -> None."""
    if not period:
        return None
    parts = period.split("-")
    ok = (
        len(parts) in (1, 2)
        and len(parts[0]) == 4
        and parts[0].isdigit()
        and (
            len(parts) == 1
            or (len(parts[1]) == 2 and parts[1].isdigit() and 1 <= int(parts[1]) <= 12)
        )
    )
    if not ok:
        raise PeriodError(f"period: YYYY-MM or YYYY, not {period!r}")
    if len(parts) == 1:
        return f"{parts[0]}-01", f"{parts[0]}-12"
    return period, period


@dataclass(slots=True)
class Sums:
    count: int = 0
    amount: int = 0
    tax: int = 0
    total: int = 0

    def add(self, count: int, amount: int, tax: int, total: int) -> None:
        self.count += int(count)
        self.amount += int(amount or 0)
        self.tax += int(tax or 0)
        self.total += int(total or 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "amount": format_fen(self.amount),
            "tax": format_fen(self.tax),
            "total": format_fen(self.total),
        }


def _where(q: Any, table: Any, tenant_ids: list[int], months: tuple[str, str] | None) -> Any:
    q = q.where(table.c.tenant_id.in_(tenant_ids or [-1]))
    if months:
        q = q.where(table.c.month.between(*months))
    return q


def compute(
    ledger: Ledger,
    *,
    tenant_ids: Iterable[int] | None = None,
    period: str | None = None,
    top: int = 10,
    refresh: bool = True,
) -> dict[str, Any]:
    """{"period", "tenants": [one block per tenant]}; tenant_ids None = every tenant."""
    months = month_range(period)
    if refresh:
        facts.refresh(ledger)
    engine = ledger.engine
    tenants = {t["id"]: t for t in ledger.tenant_rows()}
    wanted = sorted(tenants if tenant_ids is None else [t for t in tenant_ids if t in tenants])
    blocks = {tid: _Block(tid) for tid in wanted}
    cube = select(
        ii.c.tenant_id,
        ii.c.direction,
        ii.c.month,
        ii.c.kind,
        ii.c.status,
        ii.c.authority_state,
        ii.c.category,
        func.count(),
        func.sum(ii.c.amount),
        func.sum(ii.c.tax),
        func.sum(ii.c.total),
    )
    cube = _where(cube, ii, wanted, months).group_by(
        ii.c.tenant_id,
        ii.c.direction,
        ii.c.month,
        ii.c.kind,
        ii.c.status,
        ii.c.authority_state,
        ii.c.category,
    )
    party = select(
        ii.c.tenant_id,
        ii.c.direction,
        ii.c.counterparty_tax_id,
        func.count(),
        func.sum(ii.c.total),
        func.sum(ii.c.tax),
    )
    party = _where(party, ii, wanted, months).group_by(
        ii.c.tenant_id, ii.c.direction, ii.c.counterparty_tax_id
    )
    lines = select(
        il.c.tenant_id,
        il.c.direction,
        il.c.category,
        il.c.tax_rate,
        func.count(),
        func.sum(il.c.amount),
        func.sum(il.c.tax),
    )
    lines = _where(lines, il, wanted, months).group_by(
        il.c.tenant_id, il.c.direction, il.c.category, il.c.tax_rate
    )

    def run(q: Any) -> list[Any]:
        with engine.connect() as c:
            return list(c.execute(q))

    # three independent index walks, each on its own connection: the driver lets go of the GIL
    with ThreadPoolExecutor(3) as pool:
        cube_rows, party_rows, line_rows = pool.map(run, (cube, party, lines))
    for row in cube_rows:
        blocks[row[0]].take_cube(row)
    for row in party_rows:
        blocks[row[0]].parties[row[1]].append(
            (int(row[4] or 0), int(row[3]), row[2], int(row[5] or 0))
        )
    for row in line_rows:
        blocks[row[0]].take_line(row)
    with engine.connect() as conn:
        verified = _verification_counts(conn, wanted, months)
        out = []
        for tid in wanted:
            b = blocks[tid]
            names = load_table(conn, tid)
            out.append(
                b.to_json(tenants[tid], names, _top_names(conn, b, top), top, verified.get(tid, {}))
            )
    return {"period": period or "", "tenants": out}


def _verification_counts(
    conn: Any, tenant_ids: list[int], months: tuple[str, str] | None
) -> dict[int, dict[str, int]]:
    """tenant -> latest 查验 result -> invoices (refusals for the daily limit do not count)."""
    latest = (
        select(func.max(vt.c.id).label("id"))
        .where(vt.c.tenant_id.in_(tenant_ids or [-1]), vt.c.result.not_in(("limited", "error")))
        .group_by(vt.c.invoice_id)
        .subquery()
    )
    q = (
        select(vt.c.tenant_id, vt.c.result, func.count())
        .select_from(vt.join(latest, latest.c.id == vt.c.id))
        .group_by(vt.c.tenant_id, vt.c.result)
    )
    if months:
        q = q.join(ii, ii.c.invoice_id == vt.c.invoice_id).where(ii.c.month.between(*months))
    out: dict[int, dict[str, int]] = {}
    for tid, result, n in conn.execute(q):
        out.setdefault(tid, {})[result] = int(n)
    return out


def _top_names(conn: Any, b: _Block, top: int) -> dict[tuple[str, str], str]:
    names = {}
    for direction in DIRECTIONS:
        ranked = sorted(b.parties[direction], reverse=True)
        for _total, _n, tax_id, _tax in ranked[: top if top > 0 else None]:
            names[(direction, tax_id)] = (
                conn.scalar(
                    select(ii.c.counterparty_name)
                    .where(
                        ii.c.tenant_id == b.tenant_id,
                        ii.c.direction == direction,
                        ii.c.counterparty_tax_id == tax_id,
                    )
                    .limit(1)
                )
                or ""
            )
    return names


class _Block:
    def __init__(self, tenant_id: int) -> None:
        self.tenant_id = tenant_id
        self.totals = {d: Sums() for d in DIRECTIONS}
        self.months: dict[str, dict[str, Sums]] = {}
        self.kinds: dict[tuple[str, str], Sums] = {}
        self.statuses: dict[tuple[str, str], Sums] = {}
        self.states: dict[str, Sums] = {}
        self.cat_invoices: dict[tuple[str, str], int] = {}
        self.cat_lines: dict[tuple[str, str], Sums] = {}
        self.rates: dict[tuple[str, str], Sums] = {}
        self.parties: dict[str, list[tuple[int, int, str, int]]] = {d: [] for d in DIRECTIONS}

    def take_cube(self, row: Any) -> None:
        _t, direction, month, kind, status, state, category, n, amount, tax, total = row
        vals = (n, amount, tax, total)
        self.totals[direction].add(*vals)
        self.months.setdefault(month, {d: Sums() for d in DIRECTIONS})[direction].add(*vals)
        self.kinds.setdefault((direction, kind), Sums()).add(*vals)
        self.statuses.setdefault((direction, status), Sums()).add(*vals)
        self.states.setdefault(state, Sums()).add(*vals)
        key = (direction, category)
        self.cat_invoices[key] = self.cat_invoices.get(key, 0) + int(n)

    def take_line(self, row: Any) -> None:
        _t, direction, category, rate, n, amount, tax = row
        if rate == facts.NO_RATE:  # invoices without line items, each standing as one: no lines
            n = 0
        self.cat_lines.setdefault((direction, category), Sums()).add(
            n, amount, tax, (amount or 0) + (tax or 0)
        )
        self.rates.setdefault((direction, rate), Sums()).add(
            n, amount, tax, (amount or 0) + (tax or 0)
        )

    def to_json(
        self,
        tenant: dict[str, Any],
        names: dict[str, Any],
        party_names: dict[tuple[str, str], str],
        top: int,
        verified: dict[str, int],
    ) -> dict[str, Any]:
        count = sum(s.count for s in self.totals.values())
        out_tax, in_tax = self.totals["issued"].tax, self.totals["received"].tax

        def share(status: str) -> dict[str, Any]:
            n = sum(s.count for (d, st), s in self.statuses.items() if st == status)
            total = sum(s.total for (d, st), s in self.statuses.items() if st == status)
            return {
                "count": n,
                "share": round(n / count, 4) if count else 0.0,
                "total": format_fen(total),
            }

        cats = sorted(set(self.cat_invoices) | set(self.cat_lines))
        return {
            "tenant": {"id": tenant["id"], "tax_id": tenant["tax_id"], "name": tenant["name"]},
            "invoices": count,
            "totals": {d: s.to_json() for d, s in self.totals.items()},
            "tax": {
                "output": format_fen(out_tax),
                "input": format_fen(in_tax),
                "net": format_fen(out_tax - in_tax),
            },
            "by_month": [
                {"month": m, **{d: s.to_json() for d, s in self.months[m].items()}}
                for m in sorted(self.months)
            ],
            "by_kind": [
                {"direction": d, "kind": k, **s.to_json()}
                for (d, k), s in sorted(self.kinds.items())
            ],
            "by_status": [
                {"direction": d, "status": k, **s.to_json()}
                for (d, k), s in sorted(self.statuses.items())
            ],
            "by_authority_state": [
                {"state": k, **s.to_json()} for k, s in sorted(self.states.items())
            ],
            "by_category": [
                {
                    "direction": d,
                    "category": c,
                    "zh": names[c].zh if c in names else c,
                    "en": names[c].en if c in names else c,
                    "invoices": self.cat_invoices.get((d, c), 0),
                    "lines": self.cat_lines.get((d, c), Sums()).count,
                    "amount": format_fen(self.cat_lines.get((d, c), Sums()).amount),
                    "tax": format_fen(self.cat_lines.get((d, c), Sums()).tax),
                }
                for d, c in cats
            ],
            "by_rate": [
                {
                    "direction": d,
                    "tax_rate": r,
                    "lines": s.count,
                    "amount": format_fen(s.amount),
                    "tax": format_fen(s.tax),
                }
                for (d, r), s in sorted(self.rates.items())
            ],
            "top_counterparties": {
                d: [
                    {
                        "tax_id": tax_id,
                        "name": party_names.get((d, tax_id), ""),
                        "count": n,
                        "total": format_fen(total),
                        "tax": format_fen(tax),
                    }
                    for total, n, tax_id, tax in sorted(self.parties[d], reverse=True)[
                        : top if top > 0 else None
                    ]
                ]
                for d in DIRECTIONS
            },
            "counterparties": {d: len(self.parties[d]) for d in DIRECTIONS},
            "red": share("red"),
            "void": share("void"),
            "verification": verified,
        }


CATEGORY_NAMES = {c.code: c for c in DEFAULT_TABLE}


def to_xlsx(report: dict[str, Any]) -> bytes:
    """One sheet per view; every row names its tenant. Chinese headers and words, amounts as numbers
    (yuan, two decimals); names from invoices stay text (`fapiao.sheets`)."""
    from fapiao.sheets import Book
    from fapiao.vocabulary import word

    book = Book()
    sheets: dict[str, Any] = {}
    summary_head = ["方向", "张数", "金额", "税额", "价税合计"]

    def sheet(name: str, header: list[str]) -> Any:
        if name not in sheets:
            ws = book.sheet(name)
            ws.header(["企业", *header], bold=False)
            sheets[name] = ws
        return sheets[name]

    def money(text: str) -> Decimal:
        return Decimal(parse_yuan(text)) / 100

    def way(direction: str) -> str:
        return word("direction", direction)

    for t in report["tenants"]:
        who = f"{t['tenant']['name']} {t['tenant']['tax_id']}"
        ws = sheet("概览 summary", summary_head)
        for d, s in t["totals"].items():
            ws.append(
                [who, way(d), s["count"], money(s["amount"]), money(s["tax"]), money(s["total"])]
            )
        ws = sheet("税额 tax", ["销项税额", "进项税额", "应纳税额（差额）"])
        ws.append(
            [who, money(t["tax"]["output"]), money(t["tax"]["input"]), money(t["tax"]["net"])]
        )
        ws = sheet("按月 months", ["月份", *summary_head])
        for m in t["by_month"]:
            for d in DIRECTIONS:
                s = m[d]
                ws.append(
                    [
                        who,
                        m["month"],
                        way(d),
                        s["count"],
                        money(s["amount"]),
                        money(s["tax"]),
                        money(s["total"]),
                    ]
                )
        ws = sheet(
            "对方 counterparties", ["方向", "纳税人识别号", "名称", "张数", "价税合计", "税额"]
        )
        for d, rows in t["top_counterparties"].items():
            for r in rows:
                ws.append(
                    [
                        who,
                        way(d),
                        r["tax_id"],
                        r["name"],
                        r["count"],
                        money(r["total"]),
                        money(r["tax"]),
                    ]
                )
        ws = sheet("税率 rates", ["方向", "税率", "明细行数", "金额", "税额"])
        for r in t["by_rate"]:
            ws.append(
                [
                    who,
                    way(r["direction"]),
                    word("rate", r["tax_rate"]),
                    r["lines"],
                    money(r["amount"]),
                    money(r["tax"]),
                ]
            )
        ws = sheet(
            "类别 categories",
            ["方向", "类别代码", "类别", "张数", "明细行数", "金额", "税额"],
        )
        for r in t["by_category"]:
            ws.append(
                [
                    who,
                    way(r["direction"]),
                    r["category"],
                    r["zh"],
                    r["invoices"],
                    r["lines"],
                    money(r["amount"]),
                    money(r["tax"]),
                ]
            )
        ws = sheet("票种 kinds", ["方向", "发票票种", "张数", "金额", "税额", "价税合计"])
        for r in t["by_kind"]:
            ws.append(
                [
                    who,
                    way(r["direction"]),
                    word("kind", r["kind"]),
                    r["count"],
                    money(r["amount"]),
                    money(r["tax"]),
                    money(r["total"]),
                ]
            )
        ws = sheet("状态 states", ["项目", "值", "张数", "价税合计"])
        for r in t["by_authority_state"]:
            state = word("authority", r["state"])
            ws.append([who, "平台上传状态", state, r["count"], money(r["total"])])
        for r in t["by_status"]:
            what = f"发票状态（{way(r['direction'])}）"
            ws.append([who, what, word("status", r["status"]), r["count"], money(r["total"])])
        for result, n in sorted(t["verification"].items()):
            ws.append([who, "查验结果", word("verification", result), n, None])
    if not sheets:
        sheet("概览 summary", summary_head)
    return book.to_bytes()


def engine_tenants(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {r.tax_id: r.id for r in conn.execute(select(schema.tenants))}
