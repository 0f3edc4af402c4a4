"""Reconcile actions as they are read: the list (`fapiao actions list`, the work list, the API) and
one action with its history from the audit chain, each with its remedy's words.

Split from `remedies` (which files and changes actions, and re-exports these) so that reading needs
nothing of the changing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, and_, select

from fapiao.ledger import schema
from fapiao.reconcile import deduction
from fapiao.reconcile.schema import reconcile_actions as act

REMEDIES = {
    "reupload": ("重新上传至税务平台", "re-upload to the authority"),
    "request_reissue": ("申请补传/补开", "request 补开 (re-issue or upload)"),
    "ask_copy": ("向对方索取发票副本", "ask the counterparty for a copy"),
    "take_authority": ("以税务平台记录入账", "take the authority's record into the ledger"),
    "record_red_void": ("登记红冲/作废", "record the red-letter or void"),
    "report_duplicate": ("向税务机关反映重复", "report the duplicate to the tax office"),
    **deduction.REMEDIES,  # done by hand (the platform's 勾选 page, `fapiao deduct`)
}


def _public(row: Any) -> dict[str, Any]:
    d = dict(row._mapping)
    d["detail"] = json.loads(d["detail"])
    for k in ("issue_date", "due_date"):
        d[k] = d[k].isoformat() if d[k] else ""
    d["id"] = str(d["id"])
    d["remedy_zh"], d["remedy_en"] = REMEDIES[d["remedy"]]
    return d


def list_actions(
    engine: Engine,
    *,
    tenant_id: int | None = None,
    state: str | None = None,
    category: str | None = None,
) -> list[dict[str, Any]]:
    cond = []
    if tenant_id is not None:
        cond.append(act.c.tenant_id == tenant_id)
    if state:
        cond.append(act.c.state == state)
    if category:
        cond.append(act.c.category == category)
    with engine.connect() as conn:
        rows = conn.execute(select(act).where(and_(True, *cond)).order_by(act.c.id))
        return [_public(r) for r in rows]


def get_action(engine: Engine, action_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(act).where(act.c.id == action_id)).first()
    if row is None:
        return None
    out = _public(row)
    ev = schema.events
    with engine.connect() as conn:
        history = conn.execute(
            select(ev.c.seq, ev.c.ts, ev.c.actor, ev.c.action, ev.c.payload)
            .where(ev.c.entity == "reconcile_action", ev.c.entity_id == str(action_id))
            .order_by(ev.c.seq)
        )
        out["history"] = [
            {
                "seq": h.seq,
                "at": h.ts,
                "actor": h.actor,
                "action": h.action,
                "payload": json.loads(h.payload),
            }
            for h in history
        ]
    return out
