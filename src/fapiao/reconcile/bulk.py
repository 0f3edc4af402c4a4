"""Many actions carried out at once (`fapiao actions do --category …`): each as `remedies.perform`
carries it out, the re-uploads that need no second person together, a chunk in one write.

After an outage the platform lacks thousands of invoices, each an action whose remedy puts the
invoice back in the outbox. One by one, each is a write of its own with a dozen statements
(3.1-4.7 ms an action in `bench/actions.py`); together, a chunk's invoices go into the outbox by
one insert, their states by one update and the actions by another (0.18-0.36 ms an action;
50,200 in 17.9 s). Every other remedy, and a re-upload under four eyes, goes through `perform`
as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select, tuple_

from fapiao.ledger import policies, schema
from fapiao.ledger.store import Ledger, WriteTx
from fapiao.reconcile.remedies import (
    CHANGING,
    REUPLOADED,
    ActionError,
    Changes,
    Performed,
    append_note,
    perform,
    refusal,
)
from fapiao.reconcile.schema import reconcile_actions as act

CHUNK = 500  # actions a write carries out (and the size of its IN lists)

Outcome = tuple[int, Performed | ActionError]


def perform_all(ledger: Ledger, action_ids: Iterable[int]) -> Iterator[Outcome]:
    """Each action's outcome, in the order given: what was done, or why it was not."""
    ids = list(action_ids)
    for start in range(0, len(ids), CHUNK):
        yield from _chunk(ledger, ids[start : start + CHUNK])


def _chunk(ledger: Ledger, ids: list[int]) -> list[Outcome]:
    done = _reupload_together(ledger, ids)
    outcomes: list[Outcome] = []
    for action_id in ids:
        if action_id in done:
            outcomes.append((action_id, done.pop(action_id)))
            continue
        try:
            outcomes.append((action_id, perform(ledger, action_id)))
        except ActionError as exc:
            outcomes.append((action_id, exc))
    return outcomes


def _reupload_together(ledger: Ledger, ids: list[int]) -> dict[int, Performed | ActionError]:
    """The re-uploads among the actions that need no second person, carried out in one write
    (read in it, as `perform` reads its action in its own); the others are left to `perform`."""
    from fapiao.sync import outbox

    inv = schema.invoices
    out: dict[int, Performed | ActionError] = {}
    with ledger.write() as tx:
        rows = {r.id: r for r in tx.conn.execute(select(act).where(act.c.id.in_(ids)))}
        tenants = {r.tenant_id for r in rows.values()}
        four_eyes = {t: policies.four_eyes(tx.conn, t) for t in tenants}
        actions = [
            rows[i]
            for i in dict.fromkeys(ids)  # one listed twice: the second goes to `perform`
            if i in rows and _together(rows[i], four_eyes[rows[i].tenant_id])
        ]
        if not actions:
            return out
        wanted = {(a.tenant_id, a.identity_key) for a in actions}
        invoices = {
            (r["tenant_id"], r["identity_key"]): r
            for r in (
                dict(row._mapping)
                for row in tx.conn.execute(
                    select(inv).where(tuple_(inv.c.tenant_id, inv.c.identity_key).in_(wanted))
                )
            )
        }
        found = [(a, invoices.get((a.tenant_id, a.identity_key))) for a in actions]
        for a, row in found:
            if row is None:
                out[a.id] = ActionError(f"账簿中没有这张发票 / the ledger lacks {a.identity_key}")
        ready = [(a, row) for a, row in found if row is not None]
        outbox.enqueue(tx, [row for _, row in ready], op="upload")
        outbox.change_invoices(
            tx,
            [
                outbox.Change(
                    row["id"],
                    {"authority_state": outbox.QUEUED},
                    {"why": f"reconcile action {a.id}"},
                )
                for a, row in ready
            ],
        )
        _mark_in_progress(tx, ready, out)
    return out


def _together(row: Any, four_eyes: bool) -> bool:
    """A re-upload that can be carried out now, without a second person (as `perform` decides)."""
    needs_second = row.remedy in CHANGING and four_eyes
    return row.remedy == "reupload" and not needs_second and refusal(row.id, row._mapping) is None


def _mark_in_progress(
    tx: WriteTx, ready: list[tuple[Any, dict[str, Any]]], out: dict[int, Performed | ActionError]
) -> None:
    changes = Changes()
    for a, row in ready:
        changes.add(
            tx,
            a,
            {"state": "in_progress", "notes": append_note(a.notes, REUPLOADED, tx.now)},
            "reconcile.action_performed",
            {"note": REUPLOADED, "invoice_id": row["id"]},
        )
        out[a.id] = Performed(
            a.id, "reupload", "in_progress", REUPLOADED, invoice_id=str(row["id"])
        )
    changes.write(tx)
