"""Expected invoices from orders and contracts: import a CSV or xlsx, match against the ledger.

Columns are found by a mapping (field -> column header) saved per tenant: the first import guesses
it from common Chinese and English headers, `--map field=header` corrects it, and the corrected
mapping is kept for the next file. Bad rows are findings; good rows are recorded (an order already
there with other values is updated, with an event).

Matching, per tenant and direction: an invoice whose 备注 names an order number belongs to it; an
order still without an invoice takes the nearest-dated invoice of the same counterparty and total
within `WINDOW_DAYS`, then the nearest of the same counterparty with another total (an amount
difference). What is left: orders with no invoice and invoices with no order.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao import deadline
from fapiao.codec import parse_date
from fapiao.contingency.tables import manual_invoices, order_mappings, orders
from fapiao.findings import Finding, finding
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger
from fapiao.money import format_fen, parse_yuan
from fapiao.parse.safety import guard_workbook

WINDOW_DAYS = 60
MAX_BYTES = 20 * 1024 * 1024  # the file as uploaded
MAX_SHEET_BYTES = 64 * 1024 * 1024  # one inflated part of an xlsx (about 200,000 short rows)
MAX_ROWS = 100_000
MAX_COLUMNS = 100
FIELDS = (
    "order_no",
    "direction",
    "counterparty_tax_id",
    "counterparty_name",
    "order_date",
    "total",
    "department",
    "description",
)
REQUIRED = ("order_no", "counterparty_name", "order_date", "total")
GUESS = {
    "order_no": ("order_no", "订单号", "订单编号", "合同号", "合同编号", "单号"),
    "direction": ("direction", "方向", "类型", "业务类型"),
    "counterparty_tax_id": ("counterparty_tax_id", "客户税号", "供应商税号", "对方税号", "纳税人识别号", "税号"),
    "counterparty_name": ("counterparty_name", "客户名称", "供应商名称", "对方名称", "客户", "供应商", "对方单位"),
    "order_date": ("order_date", "订单日期", "下单日期", "签订日期", "合同日期", "日期"),
    "total": ("total", "含税金额", "价税合计", "合同金额", "订单金额", "金额"),
    "department": ("department", "部门", "业务部门"),
    "description": ("description", "摘要", "说明", "品名", "内容"),
}  # fmt: skip
DIRECTION_WORDS = {"销售": "issued", "销项": "issued", "issued": "issued", "sale": "issued",
                   "采购": "received", "进项": "received", "received": "received", "purchase": "received"}  # fmt: skip
inv = schema.invoices


def read_table(name: str, data: bytes) -> tuple[list[list[str]], list[Finding]]:
    """Rows of text from a CSV (UTF-8 or GBK) or the first sheet of an xlsx, at most `MAX_ROWS`
    rows of `MAX_COLUMNS` cells; an xlsx passes the archive guard before openpyxl inflates it."""
    if len(data) > MAX_BYTES:
        return [], [finding("too_large", detail=f"{name}: {len(data)} bytes > {MAX_BYTES}")]
    if data[:2] == b"PK":
        refused = guard_workbook(data, max_member_bytes=MAX_SHEET_BYTES)
        if refused is not None:
            return [], [_named(refused, name)]
        try:
            rows = _xlsx_rows(data)
        except _TooMany as exc:
            return [], [finding("too_large", detail=f"{name}: {exc}")]
        except deadline.Expired:
            raise
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            return [], [finding("unreadable", detail=f"{name}: {type(exc).__name__}")]
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return [], [finding("unreadable", detail=f"{name}: 编码无法识别 / unknown encoding")]
        try:
            rows = _bounded(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            return [], [finding("unreadable", detail=f"{name}: {exc}")]
        except _TooMany as exc:
            return [], [finding("too_large", detail=f"{name}: {exc}")]
    rows = [r for r in rows if any(str(c).strip() for c in r)]
    if not rows:
        return [], [finding("unreadable", detail=f"{name}: 空文件 / empty")]
    return rows, []


class _TooMany(Exception):
    pass


def _bounded(rows: Iterable[Sequence[Any]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in rows:
        if len(out) >= MAX_ROWS:
            raise _TooMany(f"more than {MAX_ROWS} rows")
        out.append(list(row[:MAX_COLUMNS]))
        if len(out) % 5000 == 0:
            deadline.check()
    return out


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        rows = _bounded(wb.worksheets[0].iter_rows(values_only=True, max_col=MAX_COLUMNS))
    finally:
        wb.close()
    return [["" if c is None else _cell(c) for c in row] for row in rows]


def _named(found: Finding, name: str) -> Finding:
    return dataclasses.replace(
        found, message=f"{name}：{found.message}", message_en=f"{name}: {found.message_en}"
    )


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).strip()


def saved_mapping(engine: Engine, tenant_id: int) -> dict[str, str]:
    with engine.connect() as conn:
        raw = conn.scalar(
            select(order_mappings.c.mapping).where(order_mappings.c.tenant_id == tenant_id)
        )
    return json.loads(raw) if raw else {}


def resolve_mapping(
    header: list[str], saved: dict[str, str], overrides: dict[str, str]
) -> dict[str, int]:
    """field -> column index: overrides, then the saved mapping, then a guess from the header."""
    index = {h.strip(): i for i, h in enumerate(header)}
    out: dict[str, int] = {}
    for f in FIELDS:
        for candidate in (overrides.get(f), saved.get(f), *GUESS[f]):
            if candidate and candidate in index:
                out[f] = index[candidate]
                break
    return out


def import_orders(
    ledger: Ledger,
    tenant_id: int,
    name: str,
    data: bytes,
    *,
    overrides: dict[str, str] | None = None,
    default_direction: str = "issued",
) -> dict[str, Any]:
    overrides = {k: v for k, v in (overrides or {}).items() if v}
    bad = [k for k in overrides if k not in FIELDS]
    result: dict[str, Any] = {
        "imported": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "mapping": {},
    }
    if bad:
        result["rejected"].append(
            {
                "row": 0,
                "findings": [
                    finding("field_invalid", k, detail="未知字段 / unknown field").to_json()
                    for k in bad
                ],
            }
        )
        return result
    rows, problems = read_table(name, data)
    if problems:
        result["rejected"].append({"row": 0, "findings": [p.to_json() for p in problems]})
        return result
    header = [str(h).strip() for h in rows[0]]
    cols = resolve_mapping(header, saved_mapping(ledger.engine, tenant_id), overrides)
    result["mapping"] = {f: header[i] for f, i in cols.items()}
    lacking = [f for f in REQUIRED if f not in cols]
    if lacking:
        result["rejected"].append(
            {"row": 1, "findings": [finding("field_missing", f).to_json() for f in lacking]}
        )
        return result
    parsed: list[dict[str, Any]] = []
    for n, raw in enumerate(rows[1:], start=2):
        values = {f: (str(raw[i]).strip() if i < len(raw) else "") for f, i in cols.items()}
        order, found = _order(values, default_direction)
        if found:
            result["rejected"].append({"row": n, "findings": [f.to_json() for f in found]})
        else:
            parsed.append(order)
    with ledger.write() as tx:
        current = {
            r.order_no: r
            for r in tx.conn.execute(select(orders).where(orders.c.tenant_id == tenant_id))
        }
        new_rows = []
        for o in parsed:
            old = current.get(o["order_no"])
            if old is None:
                (oid,) = tx.new_ids(1)
                row = {"id": oid, "tenant_id": tenant_id, **o, "source": name[-400:],
                       "created_at": tx.now, "updated_at": tx.now}  # fmt: skip
                new_rows.append(row)
                current[o["order_no"]] = row  # type: ignore[assignment]
                result["imported"] += 1
                continue
            old_map = old if isinstance(old, dict) else old._mapping
            changed = {k: v for k, v in o.items() if old_map[k] != v}
            if not changed:
                result["unchanged"] += 1
                continue
            tx.conn.execute(
                update(orders)
                .where(orders.c.id == old_map["id"])
                .values(**changed, updated_at=tx.now)
            )
            tx.event("order.updated", "order", old_map["id"],
                     {k: str(v) for k, v in changed.items()}, tenant_id=tenant_id)  # fmt: skip
            result["updated"] += 1
        tx.insert(orders, new_rows)
        if new_rows:
            tx.event("orders.imported", "order", new_rows[0]["id"],
                     {"file": name, "orders": [[r["id"], r["order_no"], r["total"]] for r in new_rows]},
                     tenant_id=tenant_id)  # fmt: skip
        mapping = json.dumps(result["mapping"], ensure_ascii=False, sort_keys=True)
        saved = tx.conn.scalar(
            select(order_mappings.c.mapping).where(order_mappings.c.tenant_id == tenant_id)
        )
        if saved != mapping:
            if saved is None:
                tx.insert(
                    order_mappings,
                    [{"tenant_id": tenant_id, "mapping": mapping, "updated_at": tx.now}],
                )
            else:
                tx.conn.execute(update(order_mappings).where(order_mappings.c.tenant_id == tenant_id)
                                .values(mapping=mapping, updated_at=tx.now))  # fmt: skip
            tx.event(
                "orders.mapping_saved", "tenant", tenant_id, result["mapping"], tenant_id=tenant_id
            )
    return result


def _order(values: dict[str, str], default_direction: str) -> tuple[dict[str, Any], list[Finding]]:
    found: list[Finding] = []
    for f in REQUIRED:
        if not values.get(f):
            found.append(finding("field_missing", f))
    if found:
        return {}, found
    day = parse_date(values["order_date"])
    if day is None:
        found.append(finding("date_invalid", "order_date", detail=values["order_date"]))
    try:
        total = parse_yuan(values["total"].replace(",", "").replace("¥", "").replace("￥", ""))
    except (ValueError, ArithmeticError):
        found.append(finding("field_invalid", "total", detail=values["total"][:40]))
        total = 0
    word = values.get("direction", "").strip().lower()
    direction = DIRECTION_WORDS.get(word, default_direction if not word else "")
    if not direction:
        found.append(finding("field_invalid", "direction", detail=word[:20]))
    if len(values["order_no"]) > 80:
        found.append(finding("field_invalid", "order_no", detail="过长 / too long"))
    return {
        "order_no": values["order_no"][:80],
        "direction": direction,
        "counterparty_tax_id": values.get("counterparty_tax_id", "").upper()[:32],
        "counterparty_name": values["counterparty_name"][:200],
        "order_date": day,
        "total": total,
        "department": values.get("department", "")[:100],
        "description": values.get("description", "")[:2000],
    }, found


# --- matching ----------------------------------------------------------------------------------


def _party(o: dict[str, Any], i: dict[str, Any]) -> bool:
    if o["counterparty_tax_id"]:
        return o["counterparty_tax_id"] == i["counterparty_tax_id"]
    return o["counterparty_name"] == i["counterparty_name"]


def match(
    engine: Engine,
    tenant_id: int,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> dict[str, Any]:
    with engine.connect() as conn:
        stmt = select(orders).where(orders.c.tenant_id == tenant_id)
        if date_from:
            stmt = stmt.where(orders.c.order_date >= date_from)
        if date_to:
            stmt = stmt.where(orders.c.order_date <= date_to)
        ords = [
            dict(r._mapping) for r in conn.execute(stmt.order_by(orders.c.order_date, orders.c.id))
        ]
        lo = date_from or (min((o["order_date"] for o in ords), default=dt.date(2000, 1, 1)))
        hi = date_to or (max((o["order_date"] for o in ords), default=dt.date(2000, 1, 1)))
        replaced = select(manual_invoices.c.invoice_id).where(
            manual_invoices.c.linked_invoice_id.is_not(None)
        )
        invs = []
        for r in conn.execute(
            select(inv)
            .where(
                inv.c.tenant_id == tenant_id,
                inv.c.status == "normal",
                inv.c.issue_date >= lo,
                inv.c.issue_date <= hi + dt.timedelta(days=WINDOW_DAYS),
                inv.c.id.not_in(replaced),
            )
            .order_by(inv.c.issue_date, inv.c.id)
        ):
            issued = r.direction == "issued"
            invs.append({
                "id": r.id, "identity_key": r.identity_key, "direction": r.direction,
                "issue_date": r.issue_date, "total": int(r.total),
                "counterparty_tax_id": r.buyer_tax_id if issued else r.seller_tax_id,
                "counterparty_name": r.buyer_name if issued else r.seller_name,
                "remarks": str(json.loads(r.doc).get("remarks", "")),
            })  # fmt: skip
    by_order: dict[int, list[dict[str, Any]]] = {o["id"]: [] for o in ords}
    taken: set[int] = set()
    for n, i in enumerate(invs):  # 1. the 备注 names the order
        if n % 500 == 0:
            deadline.check()  # orders × invoices: a web job past its budget stops here
        for o in ords:
            if o["order_no"] and o["order_no"] in i["remarks"] and o["direction"] == i["direction"]:
                by_order[o["id"]].append(i)
                taken.add(i["id"])
                break

    def nearest(o: dict[str, Any], same_total: bool) -> dict[str, Any] | None:
        best = None
        for i in invs:
            if i["id"] in taken or i["direction"] != o["direction"] or not _party(o, i):
                continue
            days = (i["issue_date"] - o["order_date"]).days
            if not 0 <= days <= WINDOW_DAYS or (same_total and i["total"] != o["total"]):
                continue
            if best is None or days < (best["issue_date"] - o["order_date"]).days:
                best = i
        return best

    for same_total in (True, False):  # 2. same counterparty and total, 3. same counterparty
        for n, o in enumerate(ords):
            if by_order[o["id"]]:
                continue
            if n % 500 == 0:
                deadline.check()
            i = nearest(o, same_total)
            if i is not None:
                by_order[o["id"]].append(i)
                taken.add(i["id"])
    directions = {o["direction"] for o in ords}

    def order_out(o: dict[str, Any]) -> dict[str, Any]:
        got = by_order[o["id"]]
        invoiced = sum(i["total"] for i in got)
        return {
            "order_no": o["order_no"], "direction": o["direction"], "order_date": o["order_date"].isoformat(),
            "counterparty_name": o["counterparty_name"], "counterparty_tax_id": o["counterparty_tax_id"],
            "department": o["department"], "total": format_fen(o["total"]), "invoiced": format_fen(invoiced),
            "difference": format_fen(invoiced - o["total"]), "invoices": [i["identity_key"] for i in got],
        }  # fmt: skip

    return {
        "orders": len(ords),
        "matched": [order_out(o) for o in ords if by_order[o["id"]] and sum(i["total"] for i in by_order[o["id"]]) == o["total"]],
        "orders_without_invoice": [order_out(o) for o in ords if not by_order[o["id"]]],
        "amount_differences": [order_out(o) for o in ords if by_order[o["id"]] and sum(i["total"] for i in by_order[o["id"]]) != o["total"]],
        "invoices_without_order": [
            {"identity_key": i["identity_key"], "direction": i["direction"], "issue_date": i["issue_date"].isoformat(),
             "counterparty_name": i["counterparty_name"], "total": format_fen(i["total"])}
            for i in invs
            if i["id"] not in taken and i["direction"] in directions and lo <= i["issue_date"] <= hi
        ],
    }  # fmt: skip


def list_orders(engine: Engine, tenant_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            {
                **dict(r._mapping),
                "order_date": r.order_date.isoformat(),
                "total_text": format_fen(r.total),
            }
            for r in conn.execute(
                select(orders).where(orders.c.tenant_id == tenant_id).order_by(orders.c.order_date)
            )
        ]
