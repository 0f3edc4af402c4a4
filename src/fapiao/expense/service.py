"""入账 (book / undo) and 报销 (claim / release), each one write through the ledger with its event.

The checks run inside the write, under the ledger lock; the unique `active_key` of a claim line is
the last word should anything write beside that lock: a second claim then fails on the constraint
and is answered with the same finding, naming the first claim.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from fapiao.expense.tables import bookings, claims
from fapiao.findings import Finding, finding
from fapiao.ledger import keys as ledger_keys
from fapiao.ledger import schema
from fapiao.ledger.refusal import Refused, refusing
from fapiao.ledger.store import Ledger

STATUS_ZH = {"red": "红字", "void": "作废"}


def _rows(
    conn: Connection, keys: list[str], tenant_id: int | None
) -> tuple[list[tuple[str, dict[str, Any]]], list[Finding]]:
    """One invoice row per key (the tenant's when given), or the findings why not."""
    found, missing = ledger_keys.resolve(conn, keys, tenant_id=tenant_id)
    problems = [finding("expense_not_found", "key", value=k) for k in missing]
    picked = []
    for key, rows in found.items():
        if len(rows) > 1:
            problems.append(finding("expense_ambiguous", "key", value=key))
        else:
            picked.append((key, rows[0]))
    return picked, problems


def _kind_refusals(key: str, row: dict[str, Any], what: str, what_zh: str) -> list[Finding]:
    out = []
    if row["direction"] != "received":
        out.append(
            finding("expense_not_received", "direction", value=key, what=what, what_zh=what_zh)
        )
    bad = ("red", "void") if what == "claimed" else ("void",)
    if row["status"] in bad:
        st = row["status"]
        out.append(
            finding(
                "expense_not_normal",
                "status",
                value=key,
                status=st,
                status_zh=STATUS_ZH[st],
                what=what,
                what_zh=what_zh,
            )
        )
    return out


# --- 入账 -----------------------------------------------------------------------------------------


@refusing
def book(
    ledger: Ledger, *, keys: list[str], voucher: str = "", tenant_id: int | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Mark invoices booked (已入账) under a voucher; the same voucher again changes nothing."""
    voucher = voucher.strip()
    with ledger.write() as tx:
        picked, problems = _rows(tx.conn, keys, tenant_id)
        todo = []
        for key, row in picked:
            problems += _kind_refusals(key, row, "booked", "入账")
            held = tx.conn.execute(
                select(bookings).where(bookings.c.invoice_id == row["id"])
            ).first()
            if held is not None and held.voucher != voucher:
                problems.append(
                    finding(
                        "book_already",
                        "key",
                        value=key,
                        voucher=held.voucher or "—",
                        at=held.booked_at[:19],
                    )
                )
            elif held is None:
                todo.append(row)
        if problems:
            raise Refused(problems)
        done = []
        for row in {r["id"]: r for r in todo}.values():
            tx.conn.execute(
                insert(bookings).values(
                    invoice_id=row["id"],
                    tenant_id=row["tenant_id"],
                    voucher=voucher,
                    booked_at=tx.now,
                    booked_by=tx.actor,
                )
            )
            tx.event(
                "book.booked",
                "invoice",
                row["id"],
                {"voucher": voucher},
                tenant_id=row["tenant_id"],
            )
            done.append({"id": str(row["id"]), "key": row["identity_key"], "voucher": voucher})
    return done, []


@refusing
def unbook(
    ledger: Ledger, *, keys: list[str], tenant_id: int | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Undo bookings (撤销入账)."""
    with ledger.write() as tx:
        picked, problems = _rows(tx.conn, keys, tenant_id)
        held = []
        for key, row in picked:
            got = tx.conn.execute(
                select(bookings).where(bookings.c.invoice_id == row["id"])
            ).first()
            if got is None:
                problems.append(finding("book_not_booked", "key", value=key))
            else:
                held.append((row, got))
        if problems:
            raise Refused(problems)
        done = []
        for row, got in held:
            tx.conn.execute(delete(bookings).where(bookings.c.invoice_id == row["id"]))
            tx.event(
                "book.undone",
                "invoice",
                row["id"],
                {"voucher": got.voucher},
                tenant_id=row["tenant_id"],
            )
            done.append({"id": str(row["id"]), "key": row["identity_key"], "voucher": got.voucher})
    return done, []


# --- 报销 -----------------------------------------------------------------------------------------


def active_claim(conn: Connection, identity_key: str) -> dict[str, Any] | None:
    """The standing claim line of an invoice (by identity, so in any tenant), with the tenant."""
    t = schema.tenants
    row = conn.execute(
        select(claims, t.c.name.label("tenant_name"))
        .join(t, t.c.id == claims.c.tenant_id)
        .where(claims.c.active_key == identity_key)
    ).first()
    return dict(row._mapping) if row else None


def _claimed_before(key: str, first: dict[str, Any]) -> Finding:
    return finding(
        "expense_claimed_before",
        "claim",
        value=key,
        claim=first["claim_no"],
        person=first["person"] or "—",
        tenant=first["tenant_name"],
        at=first["claimed_at"][:19],
    )


def claim(
    ledger: Ledger,
    *,
    keys: list[str],
    claim_no: str,
    person: str = "",
    tenant_id: int | None = None,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Put invoices in a claim (报销单); an invoice already in a standing claim is refused."""
    if not claim_no.strip():
        return [], [finding("expense_claim_missing", "claim")]
    try:
        return _claim(
            ledger, keys=keys, claim_no=claim_no.strip(), person=person.strip(), tenant_id=tenant_id
        )
    except IntegrityError:
        # a claim written beside the ledger lock got there first: name it, as the check would
        with ledger.engine.connect() as conn:
            picked, problems = _rows(conn, keys, tenant_id)
            for key, row in picked:
                first = active_claim(conn, row["identity_key"])
                if first is not None:
                    problems.append(_claimed_before(key, first))
        return [], problems


@refusing
def _claim(
    ledger: Ledger, *, keys: list[str], claim_no: str, person: str, tenant_id: int | None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    with ledger.write() as tx:
        picked, problems = _rows(tx.conn, keys, tenant_id)
        todo: dict[str, dict[str, Any]] = {}
        for key, row in picked:
            problems += _kind_refusals(key, row, "claimed", "报销")
            first = active_claim(tx.conn, row["identity_key"])
            if first is not None:
                problems.append(_claimed_before(key, first))
            todo[row["identity_key"]] = row
        if problems:
            raise Refused(problems)
        done = []
        for line_id, row in zip(tx.new_ids(len(todo)), todo.values(), strict=True):
            values = {
                "id": line_id,
                "invoice_id": row["id"],
                "tenant_id": row["tenant_id"],
                "identity_key": row["identity_key"],
                "active_key": row["identity_key"],
                "claim_no": claim_no,
                "person": person,
                "claimed_at": tx.now,
                "claimed_by": tx.actor,
                "released_at": "",
                "released_by": "",
            }
            tx.conn.execute(insert(claims).values(**values))
            payload = {"claim": claim_no, "person": person, "line": line_id}
            tx.event("expense.claimed", "invoice", row["id"], payload, tenant_id=row["tenant_id"])
            done.append({"id": str(row["id"]), "key": row["identity_key"], **payload})
    return done, []


@refusing
def release(
    ledger: Ledger,
    *,
    keys: list[str] | None = None,
    claim_no: str = "",
    tenant_id: int | None = None,
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Release claim lines (撤销报销): the named invoices, or every standing line of a claim."""
    with ledger.write() as tx:
        problems: list[Finding] = []
        lines = []
        if keys:
            picked, problems = _rows(tx.conn, keys, tenant_id)
            for key, row in picked:
                first = active_claim(tx.conn, row["identity_key"])
                if first is None or (claim_no and first["claim_no"] != claim_no):
                    problems.append(finding("expense_not_claimed", "key", value=key))
                else:
                    lines.append(first)
        elif claim_no:
            q = select(claims).where(
                claims.c.claim_no == claim_no, claims.c.active_key.is_not(None)
            )
            if tenant_id is not None:
                q = q.where(claims.c.tenant_id == tenant_id)
            lines = [dict(r._mapping) for r in tx.conn.execute(q)]
            if not lines:
                problems.append(finding("expense_claim_unknown", "claim", claim=claim_no))
        else:
            problems.append(finding("expense_claim_missing", "claim"))
        if problems:
            raise Refused(problems)
        done = []
        for line in lines:
            tx.conn.execute(
                update(claims)
                .where(claims.c.id == line["id"])
                .values(active_key=None, released_at=tx.now, released_by=tx.actor)
            )
            payload = {"claim": line["claim_no"], "line": line["id"]}
            tx.event(
                "expense.released",
                "invoice",
                line["invoice_id"],
                payload,
                tenant_id=line["tenant_id"],
            )
            done.append({"id": str(line["invoice_id"]), "key": line["identity_key"], **payload})
    return done, []
