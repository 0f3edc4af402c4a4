"""The outbox: entries written in the same transaction as their invoice; claims, results, read-back.

Every function that changes something runs inside `Ledger.write()` and records events: a change of
an invoice's `authority_state` is an `invoice.authority_state` event carrying the new `row_hash`
(so `fapiao audit verify` keeps passing), and each batch of outbox changes one `outbox.*` event.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from fapiao import plugins
from fapiao.contingency.pause import not_paused
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx, row_hash
from fapiao.sync.tables import sync_outbox

PENDING, SENT, DONE, PARKED = "pending", "sent", "done", "parked"
# authority_state of an invoice
LOCAL, QUEUED, UPLOADED, CONFIRMED, MISSING, MISMATCH = (
    "local",
    "queued",
    "uploaded",
    "confirmed",
    "missing",
    "mismatch",
)

ob = sync_outbox
inv = schema.invoices


def new_key(op: str) -> str:
    """An idempotency key: unique (80 random bits) and in time order (the milliseconds first,
    as in a UUIDv7), so that the keys of a batch land together at the end of the outbox's unique
    index; random keys touched a page of it each, which a large import wrote again at every
    commit."""
    return new_keys(op, 1)[0]


def new_keys(op: str, count: int) -> list[str]:
    """`count` keys as `new_key` makes them, their random bits asked of the kernel at once (an
    import enqueues thousands)."""
    stamp = f"{op}-{time.time_ns() // 1_000_000:012x}"
    bits = os.urandom(10 * count).hex()
    return [stamp + bits[20 * n : 20 * n + 20] for n in range(count)]


def worker_id() -> str:
    return f"{socket.gethostname()[:60]}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def _owner_gone(owner: str) -> bool:
    """A lease whose owner is a process on this host that no longer runs can be taken at once."""
    host, _, rest = owner.partition("|")
    pid = rest.partition("|")[0]
    if host != socket.gethostname()[:60] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# --- enqueue (in the transaction that records the invoice) -----------------------------------------


def state_on_import(row: dict[str, Any]) -> str:
    """Both directions go to the authority: issued invoices because we issued them, received ones
    because the tenant files them (the platform keeps one copy per number; a second is `exists`).
    An invoice taken from the platform's own record (source `authority`: a row of its export, a
    record a reconciliation remedy took) is confirmed as it is recorded: the platform lists it, and
    an upload of that record (the invoice's head only) would be refused as another invoice under
    its number (409), parking the entry and calling people to act for nothing."""
    return CONFIRMED if row["source"] == "authority" else QUEUED


# an entry's values are written in the table's column order (a column added to the table and not
# to `enqueue` fails its insert)
_ENTRY_COLUMNS = tuple(c.name for c in ob.columns)


def enqueue(tx: WriteTx, rows: Iterable[dict[str, Any]], *, op: str = "upload") -> list[int]:
    """One outbox entry per invoice row, in the caller's transaction; rows must be inserted first."""
    rows = list(rows)
    if not rows:
        return []
    ids = tx.new_ids(len(rows))
    keys = new_keys(op, len(rows))
    now = tx.now
    entries = [  # in _ENTRY_COLUMNS order
        (eid, row["id"], row["tenant_id"], op, key, 0, PENDING, 0, 0.0, "", 0.0, 0.0, "", now, now)
        for eid, row, key in zip(ids, rows, keys, strict=True)
    ]
    tx.insert_values(ob, _ENTRY_COLUMNS, entries)
    tx.event(
        "outbox.enqueued",
        "outbox",
        ids[0],
        {"entries": [[e[0], e[1], op, e[4]] for e in entries]},
    )
    return list(ids)


def enqueue_imported(tx: WriteTx, rows: list[dict[str, Any]]) -> None:
    """Called in the import's transaction, right after it inserts invoice rows (the
    `invoices_recorded` hook, `fapiao.sync.plugin`)."""
    enqueue(tx, [r for r in rows if r["authority_state"] == QUEUED])


# --- invoice state changes -------------------------------------------------------------------------


@dataclass(slots=True)
class Change:
    invoice_id: int
    values: dict[str, Any]  # columns to set; authority_state at least
    note: dict[str, Any]  # what the event says besides the state


def change_invoices(tx: WriteTx, changes: list[Change]) -> None:
    """Update invoice rows and write one event per row with its new row_hash; then tell the
    capabilities that follow an invoice's way to the platform (`authority_states_changed`)."""
    if not changes:
        return
    ids = [c.invoice_id for c in changes]
    rows = {r.id: dict(r._mapping) for r in tx.conn.execute(select(inv).where(inv.c.id.in_(ids)))}
    updates: list[dict[str, Any]] = []
    previous = {i: r["authority_state"] for i, r in rows.items()}
    for c in changes:
        row = rows[c.invoice_id]
        old_state = row["authority_state"]
        row.update(c.values, updated_at=tx.now)
        cols = set(c.values) | {"updated_at"}
        updates.append({"_id": c.invoice_id, **{k: row[k] for k in cols}})
        tx.event(
            "invoice.authority_state",
            "invoice",
            c.invoice_id,
            {
                "row_hash": row_hash(row),
                "authority_state": row["authority_state"],
                "from": old_state,
                **c.note,
            },
            tenant_id=row["tenant_id"],
        )
    tx.update_rows(inv, updates)
    told = [
        {
            "invoice_id": c.invoice_id,
            "tenant_id": rows[c.invoice_id]["tenant_id"],
            "identity_key": rows[c.invoice_id]["identity_key"],
            "authority_state": rows[c.invoice_id]["authority_state"],
            "previous": previous[c.invoice_id],
        }
        for c in changes
    ]
    plugins.hook().authority_states_changed(tx=tx, changes=told)


def update_entries(tx: WriteTx, action: str, params: list[dict[str, Any]]) -> None:
    """Set outbox columns per entry (each dict: `_id` + the same columns) and log one event."""
    if not params:
        return
    tx.update_rows(ob, [{**p, "updated_at": tx.now} for p in params])
    tx.event(
        action,
        "outbox",
        params[0]["_id"],
        {"entries": [{k: v for k, v in p.items() if k != "updated_at"} for p in params]},
    )


# --- claims ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Entry:
    id: int
    invoice_id: int
    tenant_id: int
    tenant_tax_id: str
    op: str
    idem_key: str
    generation: int
    attempts: int
    sent_at: float
    doc: str
    number: str
    identity_key: str
    issue_date: Any


def _entry_select() -> Any:
    t = schema.tenants
    return select(
        ob.c.id,
        ob.c.invoice_id,
        ob.c.tenant_id,
        t.c.tax_id.label("tenant_tax_id"),
        ob.c.op,
        ob.c.idem_key,
        ob.c.generation,
        ob.c.attempts,
        ob.c.sent_at,
        inv.c.doc,
        inv.c.number,
        inv.c.identity_key,
        inv.c.issue_date,
    ).select_from(ob.join(inv, inv.c.id == ob.c.invoice_id).join(t, t.c.id == ob.c.tenant_id))


def _entries(rows: Iterable[Any]) -> list[Entry]:
    return [Entry(**dict(r._mapping)) for r in rows]


def claim(ledger: Ledger, owner: str, *, limit: int, lease_s: float, now: float) -> list[Entry]:
    """Lease up to `limit` due pending entries to `owner`."""
    due = and_(ob.c.state == PENDING, ob.c.next_at <= now, not_paused(ob.c.tenant_id))
    with ledger.engine.connect() as conn:
        holders = [
            o
            for o in conn.scalars(
                select(ob.c.lease_owner)
                .where(due, ob.c.lease_until > now, ob.c.lease_owner != owner)
                .distinct()
            )
            if o
        ]
        if not conn.scalar(select(ob.c.id).where(due).limit(1)):
            return []
    gone = [o for o in holders if _owner_gone(o)]
    free = or_(ob.c.lease_until <= now, ob.c.lease_owner == owner, ob.c.lease_owner.in_(gone))
    with ledger.write() as tx:
        ids = list(
            tx.conn.scalars(
                select(ob.c.id).where(due, free).order_by(ob.c.next_at, ob.c.id).limit(limit)
            )
        )
        if not ids:
            return []
        tx.conn.execute(
            update(ob)
            .where(ob.c.id.in_(ids))
            .values(lease_owner=owner, lease_until=now + lease_s, updated_at=tx.now)
        )
        tx.event("outbox.claimed", "outbox", ids[0], {"ids": ids, "owner": owner})
        return _entries(tx.conn.execute(_entry_select().where(ob.c.id.in_(ids)).order_by(ob.c.id)))


def due_now(ledger: Ledger, now: float) -> None:
    """The platform is back: pending entries backing off may go at once."""
    with ledger.write() as tx:
        ids = list(
            tx.conn.scalars(select(ob.c.id).where(ob.c.state == PENDING, ob.c.next_at > now))
        )
        if ids:
            tx.conn.execute(
                update(ob).where(ob.c.id.in_(ids)).values(next_at=now, updated_at=tx.now)
            )
            tx.event("outbox.due_now", "outbox", ids[0], {"count": len(ids)})


def awaiting_readback(engine: Any, *, before: float, limit: int) -> list[Entry]:
    with engine.connect() as conn:
        return _entries(
            conn.execute(
                _entry_select()
                .where(ob.c.state == SENT, ob.c.sent_at <= before)
                .order_by(ob.c.sent_at, ob.c.id)
                .limit(limit)
            )
        )


def still_owned(tx: WriteTx, ids: list[int], owner: str) -> set[int]:
    return set(
        tx.conn.scalars(
            select(ob.c.id).where(
                ob.c.id.in_(ids), ob.c.lease_owner == owner, ob.c.state == PENDING
            )
        )
    )


def still_sent(tx: WriteTx, ids: list[int]) -> set[int]:
    return set(tx.conn.scalars(select(ob.c.id).where(ob.c.id.in_(ids), ob.c.state == SENT)))


# --- status ----------------------------------------------------------------------------------------


def counts(engine: Any) -> dict[str, int]:
    with engine.connect() as conn:
        by_state = dict(
            conn.execute(select(ob.c.state, func.count()).group_by(ob.c.state)).tuples().all()
        )
        by_auth = dict(
            conn.execute(
                select(inv.c.authority_state, func.count()).group_by(inv.c.authority_state)
            )
            .tuples()
            .all()
        )
        retries = conn.scalar(select(func.coalesce(func.sum(ob.c.attempts), 0))) or 0
    return {
        **{f"outbox_{k}": by_state.get(k, 0) for k in (PENDING, SENT, DONE, PARKED)},
        **{k: by_auth.get(k, 0) for k in (LOCAL, QUEUED, UPLOADED, CONFIRMED, MISSING, MISMATCH)},
        "attempts": int(retries),
    }


def parked(engine: Any, limit: int = 50) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(ob.c.id, ob.c.invoice_id, ob.c.op, ob.c.last_error, inv.c.identity_key)
            .select_from(ob.join(inv, inv.c.id == ob.c.invoice_id))
            .where(ob.c.state == PARKED)
            .order_by(ob.c.id)
            .limit(limit)
        )
        return [dict(r._mapping) for r in rows]


def history(engine: Any, invoice_id: int) -> list[dict[str, Any]]:
    """The invoice's authority_state changes, oldest first, and its outbox entries."""
    ev = schema.events
    with engine.connect() as conn:
        changes = [
            {"at": r.ts, "actor": r.actor, **_brief(json.loads(r.payload))}
            for r in conn.execute(
                select(ev.c.ts, ev.c.actor, ev.c.payload)
                .where(
                    ev.c.entity == "invoice",
                    ev.c.entity_id == str(invoice_id),
                    ev.c.action == "invoice.authority_state",
                )
                .order_by(ev.c.seq)
            )
        ]
        entries = [
            {
                "op": r.op,
                "state": r.state,
                "attempts": r.attempts,
                "generation": r.generation,
                "last_error": r.last_error,
            }
            for r in conn.execute(select(ob).where(ob.c.invoice_id == invoice_id).order_by(ob.c.id))
        ]
    return [*changes, *({"outbox": e} for e in entries)]


def _brief(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "row_hash"}
