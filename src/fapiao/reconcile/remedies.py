"""Remedies: every finding becomes an action that is carried to the end.

An action has a remedy, a state (open → in_progress → resolved, or waived), an owner, a due date and
notes. `record_run` files a reconciliation's findings: a new finding opens an action, a persisting one
keeps its action as it is, an action whose finding is gone is closed (`resolved`, resolution
`vanished`) and reopened if the finding comes back. `perform` carries out a remedy's automatic part,
or, when the tenant asks for four eyes and the remedy changes something, files it for a second
person (state `pending_approval`; `approval.py` carries it out once another person approves).
Every change is an event (entity `reconcile_action`) in the ledger's hash chain: that is the history.
Reading actions (the list, one with its history) is `listing.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao.authority.records import record_from_json, record_to_json
from fapiao.codec import canonical_bytes
from fapiao.findings import Refusal
from fapiao.ledger import policies, schema
from fapiao.ledger.store import Ledger, WriteTx, row_hash
from fapiao.money import format_fen
from fapiao.reconcile import deduction
from fapiao.reconcile.engine import Entry, Result
from fapiao.reconcile.letters import LETTERS
from fapiao.reconcile.listing import (  # noqa: F401 - the reading, imported from here as before
    REMEDIES,
    get_action,
    list_actions,
)
from fapiao.reconcile.schema import reconcile_actions as act
from fapiao.reconcile.schema import reconcile_runs as runs

AWAITING = "pending_approval"  # four eyes: asked for, a second person carries it out (approval.py)
REQUESTED = "reconcile.action_requested"
# four eyes applies to these: re-queue an upload, take records into the books, void an invoice,
# ask the counterparty to 补开 (commits the company); a letter that only asks is a draft
CHANGING = frozenset({"reupload", "take_authority", "record_red_void", "request_reissue"})
STATES = ("open", "in_progress", AWAITING, "resolved", "waived")
ACTIVE = ("open", "in_progress", AWAITING)
ALLOWED = {
    "missing_at_authority": ("reupload", "request_reissue", "ask_copy"),
    "missing_in_ledger": ("take_authority", "ask_copy"),
    "mismatched": ("ask_copy", "request_reissue"),
    "status_mismatch": ("record_red_void", "reupload", "ask_copy"),
    "duplicates_at_authority": ("report_duplicate",),
    deduction.CATEGORY: tuple(deduction.REMEDIES),
}
DUE_DAYS = 15


class ActionError(Refusal, ValueError):
    """A request about an action that cannot be honoured (unknown id, state or remedy); the
    message is `Chinese / English` (exit code 1)."""

    def __init__(self, message: str, *, code: str = "state", field: str = "") -> None:
        zh, _, en = message.partition(" / ")
        super().__init__(Refusal.said(code, zh, en or zh, field))


def default_remedy(e: Entry) -> str:
    if e.category == "missing_at_authority":
        return "reupload" if e.direction == "issued" else "request_reissue"
    if e.category == "status_mismatch":
        return "record_red_void" if e.authority_status != "normal" else "reupload"
    if e.category == deduction.CATEGORY:
        return deduction.default_remedy(e)
    return ALLOWED[e.category][0]


def entry_detail(e: Entry, result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "category": e.category,
        "code": e.code,
        "number": e.number,
        "issue_date": e.issue_date.isoformat() if e.issue_date else "",
        "direction": e.direction,
        "counterparty_tax_id": e.counterparty_tax_id,
        "counterparty_name": e.counterparty_name,
        "total": format_fen(e.total),
    }
    if e.fields:
        out["fields"] = e.fields
    if e.category == "status_mismatch":
        out["ledger_status"], out["authority_status"] = e.ledger_status, e.authority_status
    if e.count:
        out["count"] = e.count
    rec = result.record(e)
    if rec is not None:
        out["authority"] = record_to_json(rec)
    if e.category == "status_mismatch" and e.authority_status == "red":
        reds = result.reds_of(e.key)
        if reds:
            out["red_records"] = [record_to_json(r) for r in reds]
    return out


@dataclass(slots=True)
class RunSummary:
    run_id: int
    opened: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "opened": len(self.opened),
            "kept": len(self.kept),
            "reopened": len(self.reopened),
            "closed": len(self.closed),
        }


def record_run(
    ledger: Ledger, result: Result, *, authority: str, today: dt.date | None = None
) -> RunSummary:
    """File the findings of one reconciliation as actions, in one transaction."""
    scope = result.scope
    today = today or dt.date.today()
    found = {(e.category, e.key): e for e in result.all_entries()}
    with ledger.write() as tx:
        (run_id,) = tx.new_ids(1)
        summary = RunSummary(run_id)
        # in scope: actions dated in the period, and any action about a finding of this run
        existing = {
            (r.category, r.identity_key): r
            for r in tx.conn.execute(select(act).where(act.c.tenant_id == scope.tenant_id))
            if (r.category, r.identity_key) in found
            or (r.issue_date is not None and scope.contains(r.issue_date))
        }
        new_rows = []
        changes = Changes()
        for (cat, key), e in found.items():
            detail = entry_detail(e, result)
            row = existing.get((cat, key))
            if row is None:
                (aid,) = tx.new_ids(1)
                new = {
                    "id": aid,
                    "tenant_id": scope.tenant_id,
                    "category": cat,
                    "identity_key": key,
                    "code": e.code,
                    "number": e.number,
                    "issue_date": e.issue_date,
                    "remedy": default_remedy(e),
                    "state": "open",
                    "owner": "",
                    "due_date": today + dt.timedelta(days=DUE_DAYS),
                    "notes": "",
                    "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True),
                    "first_run_id": run_id,
                    "last_run_id": run_id,
                    "resolution": "",
                    "created_at": tx.now,
                    "updated_at": tx.now,
                }
                new_rows.append(new)
                summary.opened.append(aid)
                _event(tx, "reconcile.action_opened", new, {"run_id": run_id, "detail": detail})
            elif row.state == "resolved" and row.resolution == "vanished":
                changes.add(tx, row, {"state": "open", "resolution": "", "last_run_id": run_id,
                                      "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True)},
                            "reconcile.action_reopened", {"run_id": run_id})  # fmt: skip
                summary.reopened.append(row.id)
            else:
                text = json.dumps(detail, ensure_ascii=False, sort_keys=True)
                if text != row.detail:
                    changes.add(tx, row, {"detail": text, "last_run_id": run_id},
                                "reconcile.action_updated", {"run_id": run_id, "detail": detail})  # fmt: skip
                summary.kept.append(row.id)
        for (cat, key), row in existing.items():
            if (cat, key) not in found and row.state in ACTIVE and cat not in result.uncompared:
                changes.add(tx, row, {"state": "resolved", "resolution": "vanished", "last_run_id": run_id},
                            "reconcile.action_closed", {"run_id": run_id, "why": "finding gone"})  # fmt: skip
                summary.closed.append(row.id)
        changes.write(tx)
        tx.insert(act, new_rows)
        counts = {k: len(v) for k, v in result.entries.items()}
        payload = {
            "period": scope.period,
            "authority": authority,
            "ledger_count": result.ledger_count,
            "authority_count": result.authority_count,
            "matched": result.matched,
            "counts": counts,
            "opened": summary.opened,
            "kept": summary.kept,
            "reopened": summary.reopened,
            "closed": summary.closed,
        }
        tx.insert(
            runs,
            [
                {
                    "id": run_id,
                    "tenant_id": scope.tenant_id,
                    "period": scope.period,
                    "authority": authority[-400:],
                    "summary": json.dumps(
                        {k: v for k, v in payload.items() if k not in ("authority", "period")}
                        | summary.to_json()
                    ),
                    "created_at": tx.now,
                }
            ],
        )
        tx.event("reconcile.run", "reconcile_run", run_id, payload, tenant_id=scope.tenant_id)
    return summary


def _event(tx: WriteTx, action: str, row: Any, payload: dict[str, Any]) -> None:
    r = row if isinstance(row, dict) else row._mapping
    tx.event(
        action,
        "reconcile_action",
        r["id"],
        {"category": r["category"], "identity_key": r["identity_key"], **payload},
        tenant_id=r["tenant_id"],
    )


def set_row(
    tx: WriteTx, row: Any, values: dict[str, Any], action: str, payload: dict[str, Any]
) -> None:
    values = _logged(tx, row, values, action, payload)
    tx.conn.execute(update(act).where(act.c.id == row.id).values(**values))


def _logged(
    tx: WriteTx, row: Any, values: dict[str, Any], action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    """The change's event appended; the values to write, `updated_at` with them."""
    values = {**values, "updated_at": tx.now}
    shown = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items()}
    shown.pop("detail", None)
    _event(tx, action, row, {**payload, "set": shown})
    return values


class Changes:
    """Changes to many actions (a reconcile run's, a bulk remedy's), each logged as `set_row` logs
    it, written together: one executemany for each set of columns changed. A run after an outage
    is repaired closes every action it had opened, tens of thousands, and an UPDATE each cost six
    times what opening them had (`bench/actions.py`: 50,000 closed in 10.6-11.0 s, 1.5-2.0 s so)."""

    def __init__(self) -> None:
        self._rows: list[dict[str, Any]] = []

    def add(
        self, tx: WriteTx, row: Any, values: dict[str, Any], action: str, payload: dict[str, Any]
    ) -> None:
        self._rows.append({"_id": row.id, **_logged(tx, row, values, action, payload)})

    def write(self, tx: WriteTx) -> None:
        tx.update_rows(act, self._rows)


# --- changing ----------------------------------------------------------------------------------------


def set_action(
    ledger: Ledger,
    action_id: int,
    *,
    state: str | None = None,
    owner: str | None = None,
    due: dt.date | None = None,
    note: str | None = None,
    remedy: str | None = None,
) -> dict[str, Any]:
    """Change an action by hand; each call is one event. A note is appended, never replaced."""
    with ledger.write() as tx:
        row = tx.conn.execute(select(act).where(act.c.id == action_id)).first()
        if row is None:
            raise ActionError(f"没有这个处理事项 / no such action: {action_id}")
        values: dict[str, Any] = {}
        if state is not None:
            if state not in STATES:
                raise ActionError(f"状态无效 / invalid state {state!r}: {', '.join(STATES)}")
            if state == AWAITING and row.state != AWAITING:
                raise ActionError(
                    "待批准只能由 actions do 申请 / pending_approval comes from `actions do` only"
                )
            values["state"] = state
            values["resolution"] = {"resolved": "done", "waived": "waived"}.get(state, "")
        if owner is not None:
            values["owner"] = owner[:100]
        if due is not None:
            values["due_date"] = due
        if remedy is not None:
            if remedy not in ALLOWED[row.category]:
                raise ActionError(
                    f"此类发现不适用 / not a remedy for {row.category}: {remedy!r} "
                    f"(可选 choose: {', '.join(ALLOWED[row.category])})"
                )
            values["remedy"] = remedy
        if note:
            values["notes"] = append_note(row.notes, note, tx.now)
        if not values:
            raise ActionError("没有要修改的内容 / nothing to change")
        set_row(tx, row, values, "reconcile.action_updated", {"note": note or ""})
    found = get_action(ledger.engine, action_id)
    assert found is not None
    return found


def append_note(notes: str, note: str, now: str) -> str:
    return (notes + "\n" if notes else "") + f"[{now[:16]}] {note}"


@dataclass(slots=True)
class Performed:
    action_id: int
    remedy: str
    state: str
    message: str  # what was done, zh / en
    letter: str = ""
    invoice_id: str = ""


def perform(
    ledger: Ledger, action_id: int, *, today: dt.date | None = None, approved: bool = False
) -> Performed:
    """Carry out the automatic part of the action's remedy, or, when the tenant asks for four eyes
    and the remedy changes something, file it for a second person's approval (`approval.py`)."""
    today = today or dt.date.today()
    found = get_action(ledger.engine, action_id)
    refused = refusal(action_id, found, approved=approved)
    if refused is not None:
        raise refused
    assert found is not None
    if not approved and needs_second_person(ledger, found):
        return request_approval(ledger, found)
    remedy, detail = found["remedy"], found["detail"]
    tenant = _tenant_name(ledger.engine, found["tenant_id"])
    if remedy in LETTERS:
        letter = LETTERS[remedy](detail, tenant, today)
        _after(ledger, action_id, "in_progress", f"已生成函件 / letter drafted ({remedy})", letter)
        return Performed(action_id, remedy, "in_progress", "已生成函件 / letter drafted", letter)
    if remedy == "reupload":
        return _reupload(ledger, found)
    if remedy == "take_authority":
        return _take(ledger, found, [detail.get("authority")])
    if remedy == "record_red_void":
        return _red_void(ledger, found)
    if remedy in deduction.REMEDIES:  # a person's work: the action says what, the next run checks
        note = deduction.instruction(remedy, detail, found["tenant_id"])
        _after(ledger, action_id, "in_progress", note)
        return Performed(action_id, remedy, "in_progress", note)
    raise ActionError(f"unknown remedy {remedy!r}")


def refusal(action_id: int, found: Any, *, approved: bool = False) -> ActionError | None:
    """Why an action (`get_action`'s dict or a row's mapping; None when there is none) cannot be
    carried out now, or None when it can."""
    if found is None:
        return ActionError(f"没有这个处理事项 / no such action: {action_id}")
    if found["state"] in ("resolved", "waived"):
        return ActionError(f"事项已关闭 / the action is closed ({found['state']})")
    if not approved and found["state"] == AWAITING:
        return ActionError(
            f"已申请，待另一人批准：fapiao actions approve {action_id} / already requested: a "
            f"second person approves it with `fapiao actions approve {action_id}`"
        )
    return None


REUPLOADED = "已放回发件箱，等待上传 / put back in the outbox for upload"


def _tenant_name(engine: Engine, tenant_id: int) -> str:
    with engine.connect() as conn:
        name = conn.execute(
            select(schema.tenants.c.name).where(schema.tenants.c.id == tenant_id)
        ).scalar()
    return str(name or "")


def _after(
    ledger: Ledger, action_id: int, state: str, note: str, letter: str = "", **extra: Any
) -> None:
    with ledger.write() as tx:
        row = tx.conn.execute(select(act).where(act.c.id == action_id)).one()
        values: dict[str, Any] = {"state": state, "notes": append_note(row.notes, note, tx.now)}
        if state == "resolved":
            values["resolution"] = "done"
        set_row(
            tx, row, values, "reconcile.action_performed", {"note": note, "letter": letter, **extra}
        )


def _invoice_row(ledger: Ledger, tenant_id: int, key: str) -> dict[str, Any] | None:
    inv = schema.invoices
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(inv).where(inv.c.tenant_id == tenant_id, inv.c.identity_key == key)
        ).first()
    return dict(row._mapping) if row else None


def _reupload(ledger: Ledger, found: dict[str, Any]) -> Performed:
    from fapiao.sync import outbox

    aid = int(found["id"])
    row = _invoice_row(ledger, found["tenant_id"], found["identity_key"])
    if row is None:
        raise ActionError(f"账簿中没有这张发票 / the ledger lacks {found['identity_key']}")
    with ledger.write() as tx:
        outbox.enqueue(tx, [row], op="upload")
        outbox.change_invoices(
            tx,
            [
                outbox.Change(
                    row["id"],
                    {"authority_state": outbox.QUEUED},
                    {"why": f"reconcile action {aid}"},
                )
            ],
        )
        arow = tx.conn.execute(select(act).where(act.c.id == aid)).one()
        note = REUPLOADED
        set_row(tx, arow, {"state": "in_progress", "notes": append_note(arow.notes, note, tx.now)},
             "reconcile.action_performed", {"note": note, "invoice_id": row["id"]})  # fmt: skip
    return Performed(aid, "reupload", "in_progress", note, invoice_id=str(row["id"]))


def settle_reuploads(tx: WriteTx, changes: list[dict[str, Any]]) -> list[int]:
    """Re-upload actions whose invoice the platform now confirms are done: resolved in the write
    that records the confirmation (the `authority_states_changed` hook), so the work list shows
    the action closed as soon as the outbox's read-back has seen the invoice."""
    confirmed = {
        (c["tenant_id"], c["identity_key"]) for c in changes if c["authority_state"] == "confirmed"
    }
    if not confirmed:
        return []
    rows = tx.conn.execute(
        select(act).where(
            act.c.remedy == "reupload",
            act.c.state.in_(ACTIVE),
            act.c.identity_key.in_(sorted({k for _t, k in confirmed})),
        )
    ).all()
    done = []
    note = "税务平台已确认收到 / confirmed by the authority"
    for row in rows:
        if (row.tenant_id, row.identity_key) not in confirmed:
            continue
        values = {
            "state": "resolved",
            "resolution": "done",
            "notes": append_note(row.notes, note, tx.now),
        }
        set_row(tx, row, values, "reconcile.action_performed", {"note": note})
        done.append(int(row.id))
    return done


def _take(ledger: Ledger, found: dict[str, Any], docs: list[Any]) -> Performed:
    """The authority's records into the ledger (source `authority`) through the import path."""
    from fapiao.ledger.imports import Incoming, import_batch

    aid = int(found["id"])
    docs = [d for d in docs if d]
    if not docs:
        note = "没有税务平台记录可入账，请手工处理 / no authority record to take: handle by hand"
        _after(ledger, aid, "in_progress", note)
        return Performed(aid, found["remedy"], "in_progress", note)
    batch = []
    for doc in docs:
        data = canonical_bytes(doc)
        inv = record_from_json(doc).invoice()
        batch.append(
            Incoming(
                f"authority:{inv.identity.key}",
                hashlib.sha256(data).hexdigest(),
                data,
                inv,
                source="authority",
            )
        )
    outcomes = import_batch(ledger, ledger.tenants(), batch)
    ok = [o for o in outcomes if o.status in ("imported", "duplicate")]
    if len(ok) == len(outcomes) and outcomes:
        note = "已按税务平台记录入账 / taken into the ledger from the authority's record"
        state = "resolved"
    else:
        note = "入账未完成 / not taken: " + "; ".join(
            f"{o.status} {o.number} {' '.join(f.code for f in o.findings)} {' '.join(o.fields)}"
            for o in outcomes
        )
        state = "in_progress"
    _after(
        ledger, aid, state, note, outcomes=[o.to_json() | {"status": o.status} for o in outcomes]
    )
    return Performed(aid, found["remedy"], state, note, invoice_id=ok[0].id if ok else "")


def _red_void(ledger: Ledger, found: dict[str, Any]) -> Performed:
    detail = found["detail"]
    aid = int(found["id"])
    if detail.get("authority_status") == "void":
        return _mark_void(ledger, found)
    if detail.get("authority_status") == "red" and detail.get("red_records"):
        return _take(ledger, found, detail["red_records"])
    note = (
        "税务平台显示已红冲，但其清单中没有红字发票：请取得红字发票后导入 / the platform shows it "
        "reversed but lists no red invoice: import the red invoice when you have it"
    )
    _after(ledger, aid, "in_progress", note)
    return Performed(aid, "record_red_void", "in_progress", note)


def _mark_void(ledger: Ledger, found: dict[str, Any]) -> Performed:
    aid = int(found["id"])
    inv = schema.invoices
    with ledger.write() as tx:
        row = tx.conn.execute(
            select(inv).where(
                inv.c.tenant_id == found["tenant_id"], inv.c.identity_key == found["identity_key"]
            )
        ).first()
        if row is None:
            raise ActionError(f"账簿中没有这张发票 / the ledger lacks {found['identity_key']}")
        new = dict(row._mapping)
        doc = json.loads(new["doc"])
        doc["status"] = "void"
        new.update(status="void", doc=canonical_bytes(doc).decode(), updated_at=tx.now)
        new["content_hash"] = hashlib.sha256(canonical_bytes(doc)).hexdigest()
        tx.conn.execute(
            update(inv)
            .where(inv.c.id == row.id)
            .values(
                status="void", doc=new["doc"], content_hash=new["content_hash"], updated_at=tx.now
            )
        )
        tx.event(
            "invoice.voided",
            "invoice",
            row.id,
            {"row_hash": row_hash(new), "from": row.status, "why": f"reconcile action {aid}"},
            tenant_id=row.tenant_id,
        )
        arow = tx.conn.execute(select(act).where(act.c.id == aid)).one()
        note = "已按税务平台登记作废 / recorded as void, as the authority has it"
        set_row(tx, arow, {"state": "resolved", "resolution": "done", "notes": append_note(arow.notes, note, tx.now)},
             "reconcile.action_performed", {"note": note, "invoice_id": row.id})  # fmt: skip
    return Performed(aid, "record_red_void", "resolved", note, invoice_id=str(row.id))


# --- four eyes: filing the request (approving it is `approval.py`) ---------------------------------


def needs_second_person(ledger: Ledger, found: dict[str, Any]) -> bool:
    if found["remedy"] not in CHANGING:
        return False
    with ledger.engine.connect() as conn:
        return policies.four_eyes(conn, int(found["tenant_id"]))


def request_approval(ledger: Ledger, found: dict[str, Any]) -> Performed:
    """File the remedy for a second person's approval; nothing is carried out yet."""
    aid = int(found["id"])
    with ledger.write() as tx:
        row = tx.conn.execute(select(act).where(act.c.id == aid)).one()
        note = (
            f"申请执行 {found['remedy']}，待另一人批准 / {found['remedy']} requested for approval"
        )
        set_row(
            tx,
            row,
            {"state": AWAITING, "notes": append_note(row.notes, note, tx.now)},
            REQUESTED,
            {"remedy": found["remedy"], "requested_by": tx.actor},
        )
    message = (
        f"本企业实行四眼原则：已提交，待另一人批准（fapiao actions approve {aid}） / four eyes: "
        f"requested; a second person approves it with `fapiao actions approve {aid}`"
    )
    return Performed(aid, found["remedy"], AWAITING, message)
