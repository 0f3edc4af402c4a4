"""红字确认单 through its states, each step one write through the ledger with its event.

request → (four eyes: approve by a second person) → pending, 72 hours for the counterparty →
confirm (the red invoice drafted and queued for issuing, same transaction) | reject | expired.
Every amount check runs under the ledger lock, so two requests can never together reverse more
than the blue invoice holds.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.engine import Connection

from fapiao.codec import invoice_from_json
from fapiao.findings import Finding, finding
from fapiao.ledger import keys as ledger_keys
from fapiao.ledger import policies, schema
from fapiao.ledger.refusal import Refused, refusing
from fapiao.ledger.store import Ledger, WriteTx
from fapiao.model import Invoice
from fapiao.money import format_fen
from fapiao.red import issue
from fapiao.red import lines as red_lines
from fapiao.red.tables import requests

REASONS = ("开票有误", "销货退回", "服务中止", "销售折让")
STATES = {
    "awaiting_approval": ("待审批", "awaiting approval"),
    "pending": ("待对方确认", "awaiting the counterparty"),
    "issued": ("已确认，红字发票已开具", "confirmed, red invoice issued"),
    "rejected": ("对方已拒绝", "rejected"),
    "expired": ("已过期", "expired"),
}
HOLDING = ("awaiting_approval", "pending")  # reserve part of the blue invoice until decided
WINDOW = dt.timedelta(hours=72)
SHANGHAI = ZoneInfo("Asia/Shanghai")
inv_t = schema.invoices


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def reversed_so_far(conn: Connection, blue: dict[str, Any]) -> tuple[int, int]:
    """(fen reversed by numbered red invoices, fen held by undecided requests and by red drafts
    the platform has not numbered yet), both positive. Both count against the blue's total."""
    drafted = inv_t.c.number == ""
    numbered, drafts = conn.execute(
        select(
            func.coalesce(func.sum(case((drafted, 0), else_=inv_t.c.total)), 0),
            func.coalesce(func.sum(case((drafted, inv_t.c.total), else_=0)), 0),
        ).where(
            inv_t.c.tenant_id == blue["tenant_id"],
            inv_t.c.original_key == blue["identity_key"],
            inv_t.c.status == "red",
        )
    ).one()
    held = conn.execute(
        select(func.coalesce(func.sum(requests.c.total), 0)).where(
            requests.c.blue_id == blue["id"], requests.c.state.in_(HOLDING)
        )
    ).scalar_one()
    return -int(numbered), -int(drafts) - int(held)


def _line_use(conn: Connection, blue_id: int) -> dict[int, tuple[int, int]]:
    """Blue line -> (amount, tax) already asked for by requests not rejected or expired."""
    used: dict[int, tuple[int, int]] = {}
    q = select(requests.c.lines).where(
        requests.c.blue_id == blue_id, requests.c.state.in_((*HOLDING, "issued"))
    )
    for (text,) in conn.execute(q):
        for n, it in red_lines.from_json(json.loads(text)):
            a, t = used.get(n, (0, 0))
            used[n] = (a - it.amount, t - it.tax)
    return used


def _blue(conn: Connection, key: str, tenant_id: int | None) -> tuple[dict[str, Any], Invoice]:
    found, missing = ledger_keys.resolve(conn, [key], tenant_id=tenant_id)
    if missing:
        raise Refused([finding("red_blue_not_found", "key", value=key)])
    rows = [r for r in found[key] if r["direction"] == "issued"] or found[key]
    if len(rows) > 1:
        raise Refused([finding("red_blue_ambiguous", "key", value=key)])
    row = rows[0]
    why = None
    if row["direction"] != "issued":
        why = ("是进项发票，由销售方申请红冲", "it is a received invoice; its seller reverses it")
    elif row["status"] != "normal":
        why = (f"状态为 {row['status']}", f"its status is {row['status']}")
    elif not row["number"]:
        why = ("尚未取得发票号码", "it has no number from the platform yet")
    inv, _ = invoice_from_json(json.loads(row["doc"]))
    if why is None and (inv is None or not inv.kind.is_digital):
        why = ("只有数电票通过红字确认单红冲", "only a 数电票 is reversed through a 确认单")
    if why:
        raise Refused(
            [finding("red_blue_invalid", "key", value=key, detail=why[0], detail_en=why[1])]
        )
    assert inv is not None
    return row, inv


@refusing
def request(
    ledger: Ledger,
    *,
    key: str,
    reason: str,
    items: str | None = None,
    tenant_id: int | None = None,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Open a 红字确认单 for the whole blue invoice (items None) or the lines the JSON names."""
    if reason not in REASONS:
        return [], [finding("red_reason_invalid", "reason", value=reason)]
    with ledger.write() as tx:
        blue, inv = _blue(tx.conn, key, tenant_id)
        try:
            asked = (
                list(enumerate(red_lines.negated(inv.items), start=1))
                if items is None
                else red_lines.asked(inv.items, items)
            )
        except red_lines.LinesError as exc:
            raise Refused(
                [finding("red_items_invalid", "items", detail=exc.zh, detail_en=exc.en)]
            ) from exc
        problems = _over(tx.conn, blue, inv, asked)
        if problems:
            raise Refused(problems)
        amount = sum(it.amount for _, it in asked)
        tax = sum(it.tax for _, it in asked)
        four = policies.four_eyes(tx.conn, blue["tenant_id"])
        (rid,) = tx.new_ids(1)
        row = {
            "id": rid,
            "tenant_id": blue["tenant_id"],
            "blue_id": blue["id"],
            "blue_key": blue["identity_key"],
            "reason": reason,
            "lines": json.dumps(red_lines.to_json(asked), ensure_ascii=False),
            "amount": amount,
            "tax": tax,
            "total": amount + tax,
            "state": "awaiting_approval" if four else "pending",
            "requested_at": tx.now,
            "requested_by": tx.actor,
            "deadline": "" if four else (_utc(tx.now) + WINDOW).isoformat(),
            "approved_by": "",
            "decided_at": "",
            "decided_by": "",
            "red_invoice_id": None,
            "platform_id": "",
        }
        tx.conn.execute(requests.insert().values(**row))
        payload = {k: row[k] for k in ("blue_key", "reason", "amount", "tax", "total", "state")}
        tx.event("red.requested", "red_request", rid, payload, tenant_id=blue["tenant_id"])
        tx.event(
            "red.requested", "invoice", blue["id"], {"request": rid}, tenant_id=blue["tenant_id"]
        )
    return [public(row)], []


def _over(conn: Connection, blue: dict[str, Any], inv: Invoice, asked: list[Any]) -> list[Finding]:
    """The reversal may not exceed the blue invoice: per line, and in total with what is held."""
    problems = []
    used = _line_use(conn, blue["id"])
    for n, it in asked:
        a, t = used.get(n, (0, 0))
        line = inv.items[n - 1]
        if a - it.amount > line.amount or t - it.tax > line.tax:
            problems.append(
                finding(
                    "red_exceeds_blue",
                    f"items[{n}]",
                    what=f"第 {n} 行",
                    what_en=f"line {n}",
                    asked=format_fen(-it.amount),
                    held=format_fen(a),
                    blue=format_fen(line.amount),
                )
            )
    done, held = reversed_so_far(conn, blue)
    total = -sum(it.amount + it.tax for _, it in asked)
    if total + done + held > blue["total"]:
        problems.append(
            finding(
                "red_exceeds_blue",
                "total",
                what="价税合计",
                what_en="total",
                asked=format_fen(total),
                held=format_fen(done + held),
                blue=format_fen(blue["total"]),
            )
        )
    return problems


def _get(conn: Connection, rid: int | str) -> dict[str, Any]:
    row = None
    if str(rid).isdigit():
        row = conn.execute(select(requests).where(requests.c.id == int(rid))).first()
    if row is None:
        raise Refused([finding("red_request_not_found", "id", value=rid)])
    return dict(row._mapping)


def _wrong(req: dict[str, Any], what: str, what_zh: str) -> Refused:
    zh, _ = STATES[req["state"]]
    return Refused(
        [
            finding(
                "red_wrong_state",
                "state",
                value=req["id"],
                state=req["state"],
                state_zh=zh,
                what=what,
                what_zh=what_zh,
            )
        ]
    )


def _decide(tx: WriteTx, req: dict[str, Any], state: str, **values: Any) -> None:
    values = {"state": state, "decided_at": tx.now, "decided_by": tx.actor, **values}
    tx.conn.execute(update(requests).where(requests.c.id == req["id"]).values(**values))
    payload = {"state": state}
    if "red_invoice_id" in values:
        payload["red_invoice_id"] = values["red_invoice_id"]
    tx.event(f"red.{state}", "red_request", req["id"], payload, tenant_id=req["tenant_id"])
    tx.event(
        f"red.{state}",
        "invoice",
        req["blue_id"],
        {"request": req["id"]},
        tenant_id=req["tenant_id"],
    )


@refusing
def approve(ledger: Ledger, *, rid: int | str) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Four eyes: someone other than the requester sends the request to the counterparty."""
    with ledger.write() as tx:
        req = _get(tx.conn, rid)
        if req["state"] != "awaiting_approval":
            raise _wrong(req, "approved", "批准")
        if policies.same_person(tx.actor, req["requested_by"]):
            raise Refused(
                [finding("red_four_eyes", "actor", value=req["id"], by=req["requested_by"])]
            )
        deadline = (_utc(tx.now) + WINDOW).isoformat()
        tx.conn.execute(
            update(requests)
            .where(requests.c.id == req["id"])
            .values(state="pending", approved_by=tx.actor, deadline=deadline)
        )
        tx.event(
            "red.approved",
            "red_request",
            req["id"],
            # both names in the chain: who asked, who approved (this event's actor)
            {"deadline": deadline, "requested_by": req["requested_by"], "approved_by": tx.actor},
            tenant_id=req["tenant_id"],
        )
        req.update(state="pending", approved_by=tx.actor, deadline=deadline)
    return [public(req)], []


def confirm(
    ledger: Ledger, *, rid: int | str, now: dt.datetime | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The counterparty confirmed: the red invoice is drafted and queued for issuing. Past the
    72 hours the request expires instead (recorded) and the confirmation is refused."""
    expired = expire_due(ledger, now=now, only=rid)
    if expired:
        req = expired[0]
        return [], [
            finding("red_expired", "deadline", value=req["id"], deadline=req["deadline"][:19])
        ]
    return _confirm(ledger, rid=rid)


@refusing
def _confirm(ledger: Ledger, *, rid: int | str) -> tuple[list[dict[str, Any]], list[Finding]]:
    with ledger.write() as tx:
        req = _get(tx.conn, rid)
        if req["state"] != "pending":
            raise _wrong(req, "confirmed", "确认")
        blue = dict(
            tx.conn.execute(select(inv_t).where(inv_t.c.id == req["blue_id"])).one()._mapping
        )
        blue_inv, _ = invoice_from_json(json.loads(blue["doc"]))
        assert blue_inv is not None
        day = _utc(tx.now).astimezone(SHANGHAI).date()
        lines = [it for _, it in red_lines.from_json(json.loads(req["lines"]))]
        red = issue.red_invoice(blue_inv, lines, req["id"], day)
        bad = issue.problems_of(red, day)
        if bad:
            raise Refused(bad)
        row = issue.draft(tx, red, req["tenant_id"], req["id"])
        _decide(tx, req, "issued", red_invoice_id=row["id"])
        req.update(state="issued", red_invoice_id=row["id"], decided_at=tx.now, decided_by=tx.actor)
    return [public(req)], []


@refusing
def reject(ledger: Ledger, *, rid: int | str) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The counterparty rejected it: what it held of the blue invoice is free again."""
    with ledger.write() as tx:
        req = _get(tx.conn, rid)
        if req["state"] not in HOLDING:
            raise _wrong(req, "rejected", "拒绝")
        _decide(tx, req, "rejected")
        req.update(state="rejected", decided_at=tx.now, decided_by=tx.actor)
    return [public(req)], []


def expire_due(
    ledger: Ledger, *, now: dt.datetime | None = None, only: int | str | None = None
) -> list[dict[str, Any]]:
    """Pending requests past their 72 hours become expired (one event each); those expired now."""
    moment = _now(now).isoformat()
    q = select(requests).where(
        requests.c.state == "pending", requests.c.deadline != "", requests.c.deadline < moment
    )
    if only is not None:
        if not str(only).isdigit():
            return []
        q = q.where(requests.c.id == int(only))
    with ledger.engine.connect() as conn:
        if conn.execute(q.limit(1)).first() is None:
            return []
    out = []
    with ledger.write() as tx:
        for r in tx.conn.execute(q).mappings().all():
            req = dict(r)
            _decide(tx, req, "expired")
            req.update(state="expired", decided_at=tx.now, decided_by=tx.actor)
            out.append(req)
    return out


def mark_expired(ledger: Ledger, *, rid: int | str) -> None:
    """The platform says the request expired (its clock, not ours): recorded as expired."""
    with ledger.write() as tx:
        req = _get(tx.conn, rid)
        if req["state"] == "pending":
            _decide(tx, req, "expired")


def public(req: dict[str, Any]) -> dict[str, Any]:
    zh, en = STATES[req["state"]]
    return {
        "id": str(req["id"]),
        "blue_key": req["blue_key"],
        "blue_id": str(req["blue_id"]),
        "reason": req["reason"],
        "state": req["state"],
        "state_zh": zh,
        "state_en": en,
        "amount": format_fen(req["amount"]),
        "tax": format_fen(req["tax"]),
        "total": format_fen(req["total"]),
        "items": json.loads(req["lines"]),
        "requested_at": req["requested_at"],
        "requested_by": req["requested_by"],
        "approved_by": req["approved_by"],
        "deadline": req["deadline"],
        "decided_at": req["decided_at"],
        "decided_by": req["decided_by"],
        "red_invoice_id": str(req["red_invoice_id"]) if req["red_invoice_id"] else None,
        "platform_id": req["platform_id"],
    }
