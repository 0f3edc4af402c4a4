"""勾选, 撤销勾选 and 统计确认, each one write through the ledger (state row + audit event together).

Every check runs inside the write transaction, under the ledger lock, so two people selecting the
same invoice for two periods cannot both pass them. A request is all or nothing: when any key is
refused, nothing changes and every refusal comes back as a finding.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from fapiao.deduct.tables import periods, selections
from fapiao.findings import Finding, finding
from fapiao.insight.tables import verifications
from fapiao.ledger import keys as ledger_keys
from fapiao.ledger import schema
from fapiao.ledger.queries import period_bounds
from fapiao.ledger.refusal import Refused, refusing
from fapiao.ledger.store import Ledger

PURPOSES = {"deduct": ("抵扣", "deduct"), "no_deduct": ("不抵扣", "not deducted")}
STATUS_ZH = {"red": "红字", "void": "作废"}
VERIFY_ZH = {"not_found": "查无此票", "mismatch": "与平台记录不符"}
DECISIVE = ("match", "mismatch", "not_found")  # limited / error say nothing about the invoice


def confirmed(conn: Connection, tenant_id: int, period: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(periods).where(periods.c.tenant_id == tenant_id, periods.c.period == period)
    ).first()
    return dict(row._mapping) if row else None


def _locked(period: str, row: dict[str, Any]) -> Finding:
    return finding(
        "deduct_period_confirmed",
        "period",
        period=period,
        at=row["confirmed_at"][:19],
        by=row["confirmed_by"],
    )


def last_verification(conn: Connection, invoice_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        select(verifications.c.result, verifications.c.checked_at)
        .where(verifications.c.invoice_id == invoice_id, verifications.c.result.in_(DECISIVE))
        .order_by(verifications.c.id.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row else None


def _reversed(conn: Connection, row: dict[str, Any]) -> int:
    """Fen of the blue invoice reversed by the red invoices in the same books (a positive number)."""
    inv = schema.invoices
    total = conn.execute(
        select(func.coalesce(func.sum(inv.c.total), 0)).where(
            inv.c.tenant_id == row["tenant_id"],
            inv.c.original_key == row["identity_key"],
            inv.c.status == "red",
        )
    ).scalar_one()
    return -int(total)


def _refusals(
    conn: Connection, row: dict[str, Any], key: str, period: str, end: Any
) -> list[Finding]:
    out = []
    if row["direction"] != "received":
        out.append(finding("deduct_not_received", "direction", value=key))
    if row["status"] != "normal":
        out.append(
            finding(
                "deduct_not_normal",
                "status",
                value=key,
                status=row["status"],
                status_zh=STATUS_ZH.get(row["status"], row["status"]),
            )
        )
    if row["issue_date"] > end:
        out.append(
            finding(
                "deduct_period_early",
                "issue_date",
                value=key,
                date=row["issue_date"],
                period=period,
            )
        )
    if row["status"] == "normal" and _reversed(conn, row) >= row["total"]:
        out.append(
            finding(
                "deduct_not_normal",
                "status",
                value=key,
                status="fully reversed",
                status_zh="已全额红冲的",
            )
        )
    held = conn.execute(select(selections).where(selections.c.invoice_id == row["id"])).first()
    if held is not None and held.period != period:
        out.append(finding("deduct_other_period", "period", value=key, period=held.period))
        locked = confirmed(conn, row["tenant_id"], held.period)
        if locked:
            out.append(_locked(held.period, locked))
    checked = last_verification(conn, row["id"])
    if checked and checked["result"] != "match":
        out.append(
            finding(
                "deduct_verify_failed",
                "verification",
                value=key,
                result=checked["result"],
                result_zh=VERIFY_ZH[checked["result"]],
                at=checked["checked_at"][:19],
            )
        )
    return out


@refusing
def select_invoices(
    ledger: Ledger,
    *,
    tenant_id: int,
    period: str,
    keys: list[str],
    purpose: str = "deduct",
    reason: str = "",
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Select the invoices in `period` for `purpose`; (the selections made, refusals)."""
    reason = reason.strip()
    if purpose not in PURPOSES:
        return [], [finding("deduct_purpose_invalid", "purpose", value=purpose)]
    if purpose == "no_deduct" and not reason:
        return [], [finding("deduct_reason_missing", "reason")]
    _, end = period_bounds(period)
    with ledger.write() as tx:
        conn = tx.conn
        problems: list[Finding] = []
        locked = confirmed(conn, tenant_id, period)
        if locked:
            problems.append(_locked(period, locked))
        found, missing = ledger_keys.resolve(conn, keys, tenant_id=tenant_id)
        problems += [finding("deduct_not_found", "key", value=k) for k in missing]
        rows = [rs[0] for rs in found.values()]
        for key, row in zip(found, rows, strict=True):
            problems += _refusals(conn, row, key, period, end)
        if problems:
            raise Refused(problems)
        made = []
        for row in {r["id"]: r for r in rows}.values():
            values = {
                "tenant_id": tenant_id,
                "period": period,
                "purpose": purpose,
                "reason": reason,
                "selected_at": tx.now,
                "selected_by": tx.actor,
            }
            sel = selections.c.invoice_id == row["id"]
            if conn.execute(select(selections.c.invoice_id).where(sel)).first():
                conn.execute(update(selections).where(sel).values(**values))
            else:
                conn.execute(insert(selections).values(invoice_id=row["id"], **values))
            payload = {"period": period, "purpose": purpose, "reason": reason}
            tx.event("deduct.selected", "invoice", row["id"], payload, tenant_id=tenant_id)
            made.append({"id": str(row["id"]), "key": row["identity_key"], **payload})
    return made, []


@refusing
def unselect_invoices(
    ledger: Ledger, *, tenant_id: int, keys: list[str], period: str | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Undo selections (撤销勾选) of periods not yet confirmed; (undone, refusals)."""
    with ledger.write() as tx:
        conn = tx.conn
        found, missing = ledger_keys.resolve(conn, keys, tenant_id=tenant_id)
        problems = [finding("deduct_not_found", "key", value=k) for k in missing]
        held = []
        for key, rs in found.items():
            row = rs[0]
            sel = conn.execute(select(selections).where(selections.c.invoice_id == row["id"]))
            got = sel.first()
            if got is None:
                problems.append(finding("deduct_not_selected", "key", value=key))
                continue
            if period is not None and got.period != period:
                problems.append(
                    finding("deduct_other_period", "period", value=key, period=got.period)
                )
                continue
            locked = confirmed(conn, tenant_id, got.period)
            if locked:
                problems.append(_locked(got.period, locked))
            held.append((row, got))
        if problems:
            raise Refused(problems)
        undone = []
        for row, got in held:
            conn.execute(delete(selections).where(selections.c.invoice_id == row["id"]))
            payload = {"period": got.period, "purpose": got.purpose}
            tx.event("deduct.unselected", "invoice", row["id"], payload, tenant_id=tenant_id)
            undone.append({"id": str(row["id"]), "key": row["identity_key"], **payload})
    return undone, []


@refusing
def confirm_period(
    ledger: Ledger, *, tenant_id: int, period: str
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """统计确认: the period's totals are fixed and its selections locked; ([status], refusals)."""
    from fapiao.deduct.status import status_of

    with ledger.write() as tx:
        locked = confirmed(tx.conn, tenant_id, period)
        if locked:
            raise Refused([_locked(period, locked)])
        totals = status_of(tx.conn, tenant_id=tenant_id, period=period, with_invoices=False)
        tx.conn.execute(
            insert(periods).values(
                tenant_id=tenant_id,
                period=period,
                confirmed_at=tx.now,
                confirmed_by=tx.actor,
                totals=json.dumps(totals["purposes"], ensure_ascii=False, sort_keys=True),
            )
        )
        tx.event(
            "deduct.confirmed",
            "deduct_period",
            f"{tenant_id}:{period}",
            {"period": period, "purposes": totals["purposes"]},
            tenant_id=tenant_id,
        )
        totals.update(confirmed=True, confirmed_at=tx.now, confirmed_by=tx.actor)
    return [totals], []


def selection_of(conn: Connection, invoice_id: int) -> dict[str, Any] | None:
    """The invoice's 勾选 state for its page: period, purpose, reason, who, and the period's lock."""
    row = conn.execute(select(selections).where(selections.c.invoice_id == invoice_id)).first()
    if row is None:
        return None
    out = dict(row._mapping)
    out["purpose_zh"] = PURPOSES[row.purpose][0]
    out["confirmed"] = confirmed(conn, row.tenant_id, row.period) is not None
    return out


def tenant_of(conn: Connection, invoice_id: int) -> int | None:
    inv = schema.invoices
    return conn.execute(select(inv.c.tenant_id).where(inv.c.id == invoice_id)).scalar()


BY_KEY_CHUNK = 500
BY_KEY_SCAN = 20_000  # more keys than this: read the tenant's selections whole, then pick


def selections_by_key(
    engine: Engine, tenant_id: int, keys: list[str]
) -> dict[str, tuple[str, str]]:
    """The tenant's selections among the invoices `keys`: identity key -> (period, purpose)."""
    inv = schema.invoices
    query = (
        select(inv.c.identity_key, selections.c.period, selections.c.purpose)
        .join(inv, inv.c.id == selections.c.invoice_id)
        .where(selections.c.tenant_id == tenant_id, inv.c.tenant_id == tenant_id)
    )
    wanted = set(keys)
    out: dict[str, tuple[str, str]] = {}
    with engine.connect() as conn:
        if len(wanted) > BY_KEY_SCAN:
            rows: list[Any] = list(conn.execute(query))
        else:
            ordered, rows = sorted(wanted), []
            for at in range(0, len(ordered), BY_KEY_CHUNK):
                chunk = ordered[at : at + BY_KEY_CHUNK]
                rows += conn.execute(query.where(inv.c.identity_key.in_(chunk))).all()
    for key, period, purpose in rows:
        if key in wanted:
            out[key] = (period, purpose)
    return out
