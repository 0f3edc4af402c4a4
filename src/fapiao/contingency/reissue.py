"""补开 (re-issue) requests: from a reconcile finding or an incident, with materials and a deadline.

    draft --submit--> submitted --approve--> approved --(the invoice arrives)--> reissued
      \\________________\\__________________\\--reject--> rejected

Submitting needs every required material attached (stored as blobs, content-addressed). A request
is due for a reminder `remind_days` before its deadline and overdue after it (`due`). When an
invoice arrives for the same tenant, direction, counterparty and total (`arrived`, called in the
import's own transaction through the `invoices_recorded` hook), a submitted or approved request
closes as `reissued` and names the new invoice beside the original it replaces.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao.contingency.common import SHANGHAI, ContingencyError
from fapiao.contingency.incidents import affected, get_incident
from fapiao.contingency.tables import attachments, reissues
from fapiao.ledger import schema
from fapiao.ledger.policies import four_eyes, requested_by, same_person
from fapiao.ledger.store import Ledger, WriteTx, row_hash
from fapiao.money import format_fen

DRAFT, SUBMITTED, APPROVED, REISSUED, REJECTED = (
    "draft",
    "submitted",
    "approved",
    "reissued",
    "rejected",
)
ACTIVE = (DRAFT, SUBMITTED, APPROVED)
WAITING = (SUBMITTED, APPROVED)  # an arriving invoice closes these
MATERIALS = {
    "statement": ("情况说明", "incident statement"),
    "proof": ("交易凭证（合同、付款记录等）", "proof of the transaction (contract, payment)"),
    "letter": ("对方单位函件", "the counterparty's letter"),
    "other": ("其他材料", "other material"),
}
REQUIRED = ("statement", "proof")
DEADLINE_DAYS = 30
REMIND_DAYS = 7
MAX_ATTACHMENT = 20 * 1024 * 1024
inv = schema.invoices


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


def _missing(request_id: int) -> ContingencyError:
    return ContingencyError(
        f"找不到补开申请 {request_id}", f"no re-issue request {request_id}", code="not_found"
    )


def create(
    ledger: Ledger,
    *,
    tenant_id: int,
    original_key: str,
    direction: str,
    counterparty_tax_id: str,
    counterparty_name: str,
    total: int,
    issue_date: dt.date | None = None,
    reason: str = "",
    origin: str = "manual",
    origin_id: int | None = None,
    deadline: dt.date | None = None,
    remind_days: int = REMIND_DAYS,
) -> int:
    if direction not in ("issued", "received"):
        raise ContingencyError("方向应为 issued 或 received", "direction must be issued or received", code="usage")  # fmt: skip
    with ledger.write() as tx:
        original_id = tx.conn.scalar(
            select(inv.c.id).where(inv.c.tenant_id == tenant_id, inv.c.identity_key == original_key)
        )
        (rid,) = tx.new_ids(1)
        row = {
            "id": rid, "tenant_id": tenant_id, "state": DRAFT, "origin": origin,
            "origin_id": origin_id, "original_key": original_key[:48],
            "original_invoice_id": original_id, "direction": direction,
            "counterparty_tax_id": counterparty_tax_id.strip().upper(),
            "counterparty_name": counterparty_name.strip()[:200], "total": int(total),
            "issue_date": issue_date, "reason": reason.strip(),
            "deadline": deadline or today() + dt.timedelta(days=DEADLINE_DAYS),
            "remind_days": max(0, remind_days), "reissued_invoice_id": None, "decision": "",
            "created_at": tx.now, "updated_at": tx.now,
        }  # fmt: skip
        tx.insert(reissues, [row])
        tx.event("reissue.created", "reissue", rid, _json(row), tenant_id=tenant_id)
    return rid


def _json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in row.items()}


def from_finding(ledger: Ledger, action_id: int, *, reason: str = "", **kw: Any) -> int:
    """A request for the invoice a reconcile finding (a remedy action) names."""
    from fapiao.reconcile.schema import reconcile_actions as act

    with ledger.engine.connect() as conn:
        row = conn.execute(select(act).where(act.c.id == int(action_id))).first()
    if row is None:
        raise ContingencyError(f"找不到对账事项 {action_id}", f"no reconcile action {action_id}", code="not_found")  # fmt: skip
    d = json.loads(row.detail)
    from fapiao.money import parse_yuan

    return create(
        ledger,
        tenant_id=row.tenant_id,
        original_key=row.identity_key,
        direction=d.get("direction") or "received",
        counterparty_tax_id=d.get("counterparty_tax_id", ""),
        counterparty_name=d.get("counterparty_name", ""),
        total=parse_yuan(d.get("total") or "0"),
        issue_date=row.issue_date,
        reason=reason or f"对账发现：{row.category}",
        origin="finding",
        origin_id=action_id,
        **kw,
    )


def from_incident(
    ledger: Ledger,
    incident_id: int,
    key: str,
    *,
    tenant_id: int | None = None,
    reason: str = "",
    **kw: Any,
) -> int:
    """A request for one of an incident's affected invoices."""
    incident = get_incident(ledger.engine, incident_id)
    rows = [
        r
        for r in affected(ledger.engine, incident, tenant_id=tenant_id)
        if r["identity_key"] == key
    ]
    if not rows:
        raise ContingencyError(f"事件 {incident_id} 未涉及发票 {key}", f"invoice {key} is not affected by incident {incident_id}", code="not_found")  # fmt: skip
    r = rows[0]
    tid = r["tenant_id"] if r["tenant_id"] is not None else tenant_id
    if tid is None:
        raise ContingencyError("请指定企业", "choose a tenant", code="usage")
    return create(
        ledger,
        tenant_id=tid,
        original_key=key,
        direction=r["direction"],
        counterparty_tax_id=r["counterparty_tax_id"],
        counterparty_name=r["counterparty_name"],
        total=r["total"],
        issue_date=dt.date.fromisoformat(r["issue_date"]) if r["issue_date"] else None,
        reason=reason or f"事件 {incident_id}：{incident['title']}",
        origin="incident",
        origin_id=incident_id,
        **kw,
    )


def attach(ledger: Ledger, request_id: int, material: str, name: str, data: bytes) -> int:
    if material not in MATERIALS:
        raise ContingencyError(f"材料类别应为 {'/'.join(MATERIALS)}", f"material must be one of {list(MATERIALS)}", code="usage")  # fmt: skip
    if not data or len(data) > MAX_ATTACHMENT:
        raise ContingencyError("附件为空或过大（20 MB 以内）", "attachment empty or over 20 MB", code="usage")  # fmt: skip
    sha = hashlib.sha256(data).hexdigest()
    with ledger.write() as tx:
        row = _row(tx, request_id)
        if row.state not in ACTIVE:
            raise ContingencyError(f"申请已{row.state}，不能再添加材料", f"the request is {row.state}", code="state")  # fmt: skip
        if (
            tx.conn.scalar(select(schema.blobs.c.sha256).where(schema.blobs.c.sha256 == sha))
            is None
        ):
            tx.insert(
                schema.blobs,
                [{"sha256": sha, "size": len(data), "data": data, "created_at": tx.now}],
            )
        (aid,) = tx.new_ids(1)
        a = {"id": aid, "reissue_id": request_id, "material": material, "name": name[-300:],
             "sha256": sha, "size": len(data), "created_at": tx.now}  # fmt: skip
        tx.insert(attachments, [a])
        tx.event("reissue.attached", "reissue", request_id, a, tenant_id=row.tenant_id)
    return aid


def _row(tx: WriteTx, request_id: int) -> Any:
    row = tx.conn.execute(select(reissues).where(reissues.c.id == request_id)).first()
    if row is None:
        raise _missing(request_id)
    return row


def _move(
    ledger: Ledger, request_id: int, to: str, allowed: tuple[str, ...], note: str,
    tenant_ids: frozenset[int] | None = None,
) -> None:  # fmt: skip
    with ledger.write() as tx:
        row = _row(tx, request_id)
        if tenant_ids is not None and row.tenant_id not in tenant_ids:
            raise _missing(request_id)
        if row.state not in allowed:
            raise ContingencyError(
                f"申请当前为 {row.state}，不能变为 {to}", f"a {row.state} request cannot become {to}",
                code="state",
            )  # fmt: skip
        if to == APPROVED and four_eyes(tx.conn, row.tenant_id):
            asked = requested_by(
                tx.conn, "reissue", request_id, ("reissue.created", "reissue.submitted")
            )
            if same_person(tx.actor, *asked):
                raise ContingencyError(
                    "本企业要求四眼原则：申请人不能批准自己的申请",
                    "four eyes: the person who asked for it cannot approve it",
                    code="four_eyes",
                )
        if to == SUBMITTED:
            have = set(
                tx.conn.scalars(
                    select(attachments.c.material).where(attachments.c.reissue_id == request_id)
                )
            )
            lacking = [m for m in REQUIRED if m not in have]
            if lacking:
                zh = "、".join(MATERIALS[m][0] for m in lacking)
                raise ContingencyError(f"缺少必需材料：{zh}", f"required materials missing: {', '.join(lacking)}", code="materials")  # fmt: skip
        decision = (
            (row.decision + f"\n{tx.now} {tx.actor} {to}: {note}").strip() if note else row.decision
        )
        tx.conn.execute(
            update(reissues)
            .where(reissues.c.id == request_id)
            .values(state=to, decision=decision, updated_at=tx.now)
        )
        tx.event(
            f"reissue.{to}",
            "reissue",
            request_id,
            {"from": row.state, "note": note},
            tenant_id=row.tenant_id,
        )


def submit(ledger: Ledger, request_id: int, note: str = "", **kw: Any) -> None:
    _move(ledger, request_id, SUBMITTED, (DRAFT,), note, **kw)


def approve(ledger: Ledger, request_id: int, note: str = "", **kw: Any) -> None:
    _move(ledger, request_id, APPROVED, (SUBMITTED,), note, **kw)


def reject(ledger: Ledger, request_id: int, note: str = "", **kw: Any) -> None:
    _move(ledger, request_id, REJECTED, ACTIVE, note, **kw)


# --- the re-issued invoice arrives -------------------------------------------------------------------


def arrived(tx: WriteTx, rows: list[dict[str, Any]]) -> list[int]:
    """Called with invoice rows just recorded: close the waiting requests they answer."""
    if not rows:
        return []
    tenants = {r["tenant_id"] for r in rows}
    waiting = list(
        tx.conn.execute(
            select(reissues)
            .where(reissues.c.state.in_(WAITING), reissues.c.tenant_id.in_(list(tenants)))
            .order_by(reissues.c.created_at, reissues.c.id)
        )
    )
    closed: list[int] = []
    if not waiting:  # (an import's batch: thousands of rows, and most often no request waits)
        return closed
    for r in rows:
        if r.get("source") == "manual" or not r.get("number"):
            continue
        other = r["buyer_tax_id"] if r["direction"] == "issued" else r["seller_tax_id"]
        for req in waiting:
            if req.id in closed:
                continue
            if (req.tenant_id, req.direction, req.counterparty_tax_id, req.total) != (
                r["tenant_id"],
                r["direction"],
                other,
                r["total"],
            ):
                continue
            if req.issue_date is not None and r["issue_date"] < req.issue_date:
                continue
            tx.conn.execute(
                update(reissues).where(reissues.c.id == req.id)
                .values(state=REISSUED, reissued_invoice_id=r["id"], updated_at=tx.now)
            )  # fmt: skip
            tx.event("reissue.reissued", "reissue", req.id,
                     {"invoice_id": r["id"], "identity_key": r["identity_key"], "original_key": req.original_key},
                     tenant_id=req.tenant_id)  # fmt: skip
            tx.event("invoice.reissue_of", "invoice", r["id"],
                     {"row_hash": row_hash(r), "original_key": req.original_key,
                      "original_invoice_id": req.original_invoice_id, "request_id": req.id},
                     tenant_id=req.tenant_id)  # fmt: skip
            closed.append(req.id)
            break
    return closed


def settle(ledger: Ledger) -> list[int]:
    """Look for re-issued invoices already in the ledger (recorded by paths without the hook)."""
    with ledger.engine.connect() as conn:
        waiting = list(conn.execute(select(reissues).where(reissues.c.state.in_(WAITING))))
    if not waiting:
        return []
    since = min(w.created_at for w in waiting)
    with ledger.write() as tx:
        rows = [
            dict(r._mapping)
            for r in tx.conn.execute(
                select(inv).where(
                    inv.c.tenant_id.in_({w.tenant_id for w in waiting}), inv.c.updated_at >= since
                )
            )
        ]
        return arrived(tx, rows)


# --- reading -----------------------------------------------------------------------------------


def _public(row: Any, on: dt.date) -> dict[str, Any]:
    d = dict(row._mapping)
    days = (d["deadline"] - on).days
    d["days_left"] = days
    d["reminder"] = d["state"] in ACTIVE and days <= d["remind_days"]
    d["overdue"] = d["state"] in ACTIVE and days < 0
    d["total_text"] = format_fen(d["total"])
    return _json(d)


def list_requests(
    engine: Engine, *, state: str | None = None, due_only: bool = False,
    tenant_ids: frozenset[int] | None = None, on: dt.date | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    on = on or today()
    stmt = select(reissues).order_by(reissues.c.deadline, reissues.c.id)
    if state:
        stmt = stmt.where(reissues.c.state == state)
    if tenant_ids is not None:
        stmt = stmt.where(reissues.c.tenant_id.in_(list(tenant_ids)))
    with engine.connect() as conn:
        rows = [_public(r, on) for r in conn.execute(stmt)]
    return [r for r in rows if r["reminder"]] if due_only else rows


def get_request(engine: Engine, request_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(reissues).where(reissues.c.id == request_id)).first()
        if row is None:
            raise _missing(request_id)
        out = _public(row, today())
        out["attachments"] = [
            dict(a._mapping)
            for a in conn.execute(
                select(attachments)
                .where(attachments.c.reissue_id == request_id)
                .order_by(attachments.c.id)
            )
        ]
        have = {a["material"] for a in out["attachments"]}
        out["materials_missing"] = [m for m in REQUIRED if m not in have]
        if row.reissued_invoice_id:
            out["reissued_key"] = conn.scalar(
                select(inv.c.identity_key).where(inv.c.id == row.reissued_invoice_id)
            )
    return out


def attachment_bytes(
    engine: Engine, request_id: int, attachment_id: int
) -> tuple[str, bytes] | None:
    with engine.connect() as conn:
        a = conn.execute(
            select(attachments).where(
                attachments.c.id == attachment_id, attachments.c.reissue_id == request_id
            )
        ).first()
        if a is None:
            return None
        data = conn.scalar(select(schema.blobs.c.data).where(schema.blobs.c.sha256 == a.sha256))
    return (a.name, bytes(data)) if data is not None else None
