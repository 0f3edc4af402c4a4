"""Four eyes on remedies: when a tenant asks for it (`fapiao tenant policy T --four-eyes`), a remedy
that changes the platform or the books, or commits the company to someone outside, is not carried
out by the person who asks for it. `fapiao actions do ID` then files a request (state
`pending_approval`, event `reconcile.action_requested` under the requester's name); a second,
different person carries it out with `fapiao actions approve ID` (event `reconcile.action_approved`
naming both, then the remedy's own events under the approver's name). Filing the request is
`remedies.perform`'s part (`remedies.request_approval`); approving it is this module's. The
requester approving is refused with the finding `four_eyes`, as a 红字确认单 or a 补开 approval is,
comparing the person, not the door (`cli:wang` is `web:wang`; `ledger.policies.same_person`).

Letters that only ask (a copy from the counterparty, the duplicate reported) are drafts a person
still has to send; they are done at once, four eyes or not.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, select

from fapiao.ledger import policies, schema
from fapiao.ledger.store import Ledger
from fapiao.reconcile import remedies
from fapiao.reconcile.schema import reconcile_actions as act

AWAITING = remedies.AWAITING
REQUESTED = remedies.REQUESTED


def requested(engine: Engine, action_id: int) -> dict[str, Any] | None:
    """The newest request for the action: {actor, remedy}."""
    ev = schema.events
    with engine.connect() as conn:
        row = conn.execute(
            select(ev.c.actor, ev.c.payload)
            .where(
                ev.c.entity == "reconcile_action",
                ev.c.entity_id == str(action_id),
                ev.c.action == REQUESTED,
            )
            .order_by(ev.c.seq.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return {"actor": row.actor, "remedy": json.loads(row.payload).get("remedy", "")}


def approve(ledger: Ledger, action_id: int, *, today: dt.date | None = None) -> remedies.Performed:
    """A second person approves the requested remedy, which is then carried out under their name."""
    found = remedies.get_action(ledger.engine, action_id)
    if found is None:
        raise remedies.ActionError(f"没有这个处理事项 / no such action: {action_id}")
    asked = requested(ledger.engine, action_id)
    if found["state"] != AWAITING or asked is None:
        raise remedies.ActionError(
            f"处理事项 {action_id} 没有待批准的申请（状态 {found['state']}） / action {action_id} "
            f"has no request awaiting approval (state {found['state']})"
        )
    if policies.same_person(ledger.actor, asked["actor"]):
        raise remedies.ActionError(
            f"本企业实行四眼原则：处理事项 {action_id} 须由申请人（{asked['actor']}）以外的人批准 / "
            f"four eyes: action {action_id} must be approved by someone other than "
            f"{asked['actor']}",
            code="four_eyes",
            field="actor",
        )
    if asked["remedy"] != found["remedy"]:
        raise remedies.ActionError(
            f"申请后处理方式已改为 {found['remedy']}，请重新申请 / the remedy changed to "
            f"{found['remedy']} after the request ({asked['remedy']}): request it again"
        )
    with ledger.write() as tx:
        row = tx.conn.execute(select(act).where(act.c.id == action_id)).one()
        remedies.set_row(  # the state moves with the remedy: a remedy that fails can be approved again
            tx,
            row,
            {},
            "reconcile.action_approved",
            {"remedy": found["remedy"], "requested_by": asked["actor"], "approved_by": tx.actor},
        )
    return remedies.perform(ledger, action_id, today=today, approved=True)
