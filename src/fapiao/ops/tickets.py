"""Repair tickets (报修): anyone files one; the support desk triages, assigns, answers and closes it.

A ticket belongs to a tenant (that of its first linked invoice, else the one the reporter filed it
for) or to none (ledger-wide, filed by a user of every tenant). The support desk sees the tickets
of its tenants; ledger-wide tickets only reach users of every tenant (`in_scope`).

open --triage--> triaged --assign--> assigned --answer--> answered --close--> closed --reopen--> open
(every step but reopen is allowed from any state that is not closed; a comment changes no state).
Each step is a row in `ops_ticket_steps` and an event `ticket.<step>` in the same transaction, so
the ticket's whole life is in the audit chain. Attachments are kept byte-for-byte in `blobs`.

Refusals are `TicketError`s with a stable code and a message in Chinese and English.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import Engine, func, select, update

from fapiao import plugins
from fapiao.findings import Refusal
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx
from fapiao.ops.tables import ticket_files, ticket_links, ticket_steps, tickets

CATEGORIES: dict[str, tuple[str, str]] = {
    "import": ("导入与识别", "import and recognition"),
    "sync": ("税务平台同步", "sync with the tax platform"),
    "print": ("打印", "printing"),
    "reconcile": ("对账", "reconciliation"),
    "access": ("登录与权限", "login and access"),
    "hardware": ("设备（扫描仪、打印机、电脑）", "devices (scanner, printer, computer)"),
    "network": ("网络", "network"),
    "other": ("其他", "other"),
}
PRIORITIES = ("low", "normal", "high", "urgent")
STATES = ("open", "triaged", "assigned", "answered", "closed")
SUPPORT_ROLES = ("support", "admin")
MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_TEXT = 5000


class TicketError(Refusal):
    """A ticket request refused; the caller corrects all but a missing or closed ticket (exit 2)."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        usage = not (code.startswith("no_") or code in ("not_found", "closed", "not_closed"))
        super().__init__(Refusal.said(code, zh, en), usage=usage)

    def __str__(self) -> str:
        return self.en


def _clean(text: str, limit: int, what: tuple[str, str], *, required: bool = True) -> str:
    text = (text or "").replace("\x00", "").strip()
    if required and not text:
        raise TicketError("missing", f"请填写{what[0]}", f"{what[1]} is required")
    if len(text) > limit:
        raise TicketError(
            "too_long", f"{what[0]}过长（最多 {limit} 字）", f"{what[1]} is too long (max {limit})"
        )
    return text


def _occurred(value: str, now: str) -> str:
    value = (value or "").strip()
    if not value:
        return now
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise TicketError("bad_time", f"时间无效：{value!r}", f"invalid time: {value!r}") from exc
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))  # a wall clock in China
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def file_ticket(
    ledger: Ledger,
    *,
    reporter: str,
    symptoms: str,
    category: str = "other",
    place: str = "",
    occurred_at: str = "",
    tenant_id: int | None = None,
    invoice_ids: list[int] | None = None,
    incident_id: str = "",
    attachments: list[tuple[str, bytes]] | None = None,
    visible_tenants: frozenset[int] | None = None,
) -> int:
    """Files a ticket; `visible_tenants` (None: all) limits which invoices the reporter may link
    and which tenant it may be filed for. The first linked invoice's tenant wins over
    `tenant_id`; a reporter of some tenants always files for one of them."""
    if category not in CATEGORIES:
        raise TicketError(
            "bad_category", f"类别无效：{category!r}", f"unknown category {category!r}"
        )
    symptoms = _clean(symptoms, MAX_TEXT, ("故障现象", "symptoms"))
    place = _clean(place, 200, ("地点", "place"), required=False)
    incident_id = (incident_id or "").strip()[:40]
    files = attachments or []
    if len(files) > MAX_FILES:
        raise TicketError(
            "too_many_files", f"附件最多 {MAX_FILES} 个", f"at most {MAX_FILES} attachments"
        )
    for name, body in files:
        if len(body) > MAX_FILE_BYTES:
            raise TicketError(
                "file_too_large", f"附件过大：{name}", f"attachment too large: {name}"
            )
    ids = sorted({int(i) for i in invoice_ids or []})
    with ledger.write() as tx:
        tenants = _invoice_tenants(tx, ids)
        for i in ids:
            if i not in tenants or (
                visible_tenants is not None and tenants[i] not in visible_tenants
            ):
                raise TicketError(
                    "no_invoice", f"发票 {i} 不存在或不可见", f"invoice {i} not found"
                )
        if incident_id and not _incident_exists(tx, incident_id):
            raise TicketError(
                "no_incident", f"事件 {incident_id} 不存在", f"incident {incident_id} not found"
            )
        if ids:
            tenant_id = tenants[ids[0]]
        elif visible_tenants is not None and tenant_id not in visible_tenants:
            if tenant_id is not None or not visible_tenants:
                raise TicketError("no_tenant", "不能为该企业报修", "not a tenant of yours")
            tenant_id = min(visible_tenants)
        elif tenant_id is not None and tenant_id not in _tenant_ids(tx):
            raise TicketError("no_tenant", f"没有企业 {tenant_id}", f"no tenant {tenant_id}")
        (tid,) = tx.new_ids(1)
        row = {
            "id": tid,
            "tenant_id": tenant_id,
            "reporter": reporter[:100],
            "occurred_at": _occurred(occurred_at, tx.now),
            "place": place,
            "category": category,
            "symptoms": symptoms,
            "state": "open",
            "priority": "normal",
            "assignee": "",
            "incident_id": incident_id,
            "created_at": tx.now,
            "updated_at": tx.now,
        }
        tx.insert(tickets, [row])
        tx.insert(ticket_links, [{"ticket_id": tid, "invoice_id": i} for i in ids])
        names = _attach(tx, tid, files)
        payload = {**row, "invoice_ids": ids, "attachments": names}
        _step(tx, tid, "filed", "", payload, tenant_id)
    plugins.notify(
        ledger.engine,
        "ticket.new",
        tenant_id,
        ticket_id=tid,
        category=category,
        symptoms=symptoms[:200],
    )
    return tid


def _invoice_tenants(tx: WriteTx, ids: list[int]) -> dict[int, int]:
    if not ids:
        return {}
    inv = schema.invoices
    rows = tx.conn.execute(select(inv.c.id, inv.c.tenant_id).where(inv.c.id.in_(ids)))
    return {r.id: r.tenant_id for r in rows}


def _tenant_ids(tx: WriteTx) -> set[int]:
    return set(tx.conn.scalars(select(schema.tenants.c.id)))


def _incident_exists(tx: WriteTx, incident_id: str) -> bool:
    try:
        from fapiao.contingency.tables import incidents
    except ImportError:
        return True  # the capability is not installed: keep the reference as given
    if not incident_id.isdigit():
        return False
    return (
        tx.conn.scalar(select(incidents.c.id).where(incidents.c.id == int(incident_id))) is not None
    )


def _attach(tx: WriteTx, tid: int, files: list[tuple[str, bytes]]) -> list[dict[str, Any]]:
    out = []
    for name, body in files:
        sha = hashlib.sha256(body).hexdigest()
        b = schema.blobs
        if tx.conn.scalar(select(b.c.sha256).where(b.c.sha256 == sha)) is None:
            tx.insert(b, [{"sha256": sha, "size": len(body), "data": body, "created_at": tx.now}])
        (fid,) = tx.new_ids(1)
        clean = name.replace("\\", "/").rsplit("/", 1)[-1][:300] or "attachment"
        tx.insert(
            ticket_files,
            [
                {
                    "id": fid,
                    "ticket_id": tid,
                    "name": clean,
                    "sha256": sha,
                    "size": len(body),
                    "created_at": tx.now,
                }
            ],
        )
        out.append({"id": fid, "name": clean, "sha256": sha, "size": len(body)})
    return out


def _step(
    tx: WriteTx, tid: int, action: str, text: str, detail: dict[str, Any], tenant_id: int | None
) -> None:
    (sid,) = tx.new_ids(1)
    tx.insert(
        ticket_steps,
        [
            {
                "id": sid,
                "ticket_id": tid,
                "at": tx.now,
                "actor": tx.actor,
                "action": action,
                "text": text,
                "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
            }
        ],
    )
    tx.event(
        f"ticket.{action}",
        "ticket",
        tid,
        {"step": sid, "text": text, **detail},
        tenant_id=tenant_id,
    )


def _load_for_change(tx: WriteTx, tid: int) -> Any:
    row = tx.conn.execute(select(tickets).where(tickets.c.id == tid)).first()
    if row is None:
        raise TicketError("not_found", f"报修单 {tid} 不存在", f"ticket {tid} not found")
    return row


def _change(
    ledger: Ledger,
    tid: int,
    action: str,
    text: str,
    values: dict[str, Any],
    *,
    allow_closed: bool = False,
) -> None:
    with ledger.write() as tx:
        row = _load_for_change(tx, tid)
        if row.state == "closed" and not allow_closed:
            raise TicketError("closed", "报修单已关闭", "the ticket is closed")
        if values:
            tx.conn.execute(
                update(tickets).where(tickets.c.id == tid).values(**values, updated_at=tx.now)
            )
        before = {k: getattr(row, k) for k in values}
        _step(tx, tid, action, text, {"before": before, "after": values}, row.tenant_id)


def triage(
    ledger: Ledger, tid: int, *, priority: str, category: str | None = None, text: str = ""
) -> None:
    if priority not in PRIORITIES:
        raise TicketError(
            "bad_priority", f"优先级无效：{priority!r}", f"unknown priority {priority!r}"
        )
    values: dict[str, Any] = {"priority": priority}
    if category:
        if category not in CATEGORIES:
            raise TicketError(
                "bad_category", f"类别无效：{category!r}", f"unknown category {category!r}"
            )
        values["category"] = category
    with ledger.engine.connect() as conn:
        state = conn.scalar(select(tickets.c.state).where(tickets.c.id == tid))
    if state == "open":
        values["state"] = "triaged"
    _change(
        ledger, tid, "triaged", _clean(text, MAX_TEXT, ("说明", "note"), required=False), values
    )


def assign(ledger: Ledger, tid: int, *, assignee: str, text: str = "") -> None:
    """Assigns to someone on the desk (the web offers only those who see the ticket)."""
    assignee = assignee.strip()
    if assignee not in support_people(ledger.engine):
        raise TicketError(
            "bad_assignee", f"{assignee} 不是支持人员", f"{assignee} is not on the support desk"
        )
    _change(
        ledger,
        tid,
        "assigned",
        _clean(text, MAX_TEXT, ("说明", "note"), required=False),
        {"assignee": assignee, "state": "assigned"},
    )


def answer(ledger: Ledger, tid: int, *, text: str) -> None:
    _change(
        ledger, tid, "answered", _clean(text, MAX_TEXT, ("答复", "answer")), {"state": "answered"}
    )


def comment(ledger: Ledger, tid: int, *, text: str) -> None:
    _change(ledger, tid, "commented", _clean(text, MAX_TEXT, ("补充说明", "comment")), {})


def close(ledger: Ledger, tid: int, *, text: str = "") -> None:
    _change(
        ledger,
        tid,
        "closed",
        _clean(text, MAX_TEXT, ("说明", "note"), required=False),
        {"state": "closed"},
    )


def reopen(ledger: Ledger, tid: int, *, text: str = "") -> None:
    with ledger.engine.connect() as conn:
        state = conn.scalar(select(tickets.c.state).where(tickets.c.id == tid))
    if state != "closed":
        raise TicketError("not_closed", "报修单未关闭", "the ticket is not closed")
    _change(
        ledger,
        tid,
        "reopened",
        _clean(text, MAX_TEXT, ("说明", "note"), required=False),
        {"state": "open"},
        allow_closed=True,
    )


def support_people(
    engine: Engine, tenant_id: int | None = None, *, scoped: bool = False
) -> list[str]:
    """The support desk; `scoped`: only those who handle tickets of `tenant_id` (granted that
    tenant, or of every tenant; a ticket of no tenant: only users of every tenant)."""
    try:
        from fapiao.auth.schema import user_tenants, users
    except ImportError:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(users.c.name, users.c.role, users.c.id)
            .where(users.c.role.in_(SUPPORT_ROLES), users.c.disabled == 0)
            .order_by(users.c.name)
        ).all()
        grants: dict[int, set[int]] = {}
        for g in conn.execute(select(user_tenants.c.user_id, user_tenants.c.tenant_id)):
            grants.setdefault(g.user_id, set()).add(g.tenant_id)
    out = []
    for r in rows:
        mine = grants.get(r.id, set())
        wide = r.role == "admin" and not mine  # an admin without grants sees every tenant
        if not scoped or wide or (tenant_id is not None and tenant_id in mine):
            out.append(r.name)
    return out


# --- reading ------------------------------------------------------------------------------------


def get(engine: Engine, tid: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(tickets).where(tickets.c.id == tid)).first()
        if row is None:
            return None
        out = dict(row._mapping)
        out["invoice_ids"] = list(
            conn.scalars(
                select(ticket_links.c.invoice_id)
                .where(ticket_links.c.ticket_id == tid)
                .order_by(ticket_links.c.invoice_id)
            )
        )
        out["files"] = [
            dict(r._mapping)
            for r in conn.execute(
                select(ticket_files)
                .where(ticket_files.c.ticket_id == tid)
                .order_by(ticket_files.c.id)
            )
        ]
        out["steps"] = [
            {**dict(r._mapping), "detail": json.loads(r.detail)}
            for r in conn.execute(
                select(ticket_steps)
                .where(ticket_steps.c.ticket_id == tid)
                .order_by(ticket_steps.c.id)
            )
        ]
    return out


def in_scope(ticket: dict[str, Any], tenants: frozenset[int] | None) -> bool:
    """Whether a support user of `tenants` (None: every tenant) handles this ticket: tickets of
    their tenants; ledger-wide tickets (no tenant) only for users of every tenant."""
    if tenants is None:
        return True
    return ticket["tenant_id"] is not None and ticket["tenant_id"] in tenants


def list_tickets(
    engine: Engine,
    *,
    reporter: str | None = None,
    state: str | None = None,
    tenants: frozenset[int] | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Newest first. `reporter`: only theirs; `tenants`: only tickets of those tenants (None:
    all, the ledger-wide ones included; see `in_scope`)."""
    t = tickets
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    if reporter is not None:
        q = q.where(t.c.reporter == reporter)
    if state == "active":
        q = q.where(t.c.state != "closed")
    elif state:
        q = q.where(t.c.state == state)
    if tenants is not None:
        q = q.where(t.c.tenant_id.in_(sorted(tenants) or [-1]))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = (
            conn.execute(select(tickets.c.state, func.count()).group_by(tickets.c.state))
            .tuples()
            .all()
        )
    return {s: dict(rows).get(s, 0) for s in STATES}


def attachment(engine: Engine, tid: int, fid: int) -> tuple[str, bytes] | None:
    f, b = ticket_files, schema.blobs
    with engine.connect() as conn:
        row = conn.execute(
            select(f.c.name, b.c.data)
            .select_from(f.join(b, b.c.sha256 == f.c.sha256))
            .where(f.c.id == fid, f.c.ticket_id == tid)
        ).first()
    return (row.name, bytes(row.data)) if row else None
