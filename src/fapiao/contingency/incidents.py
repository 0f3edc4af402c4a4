"""Incidents: a fault with a start and end time, a scope, a timeline of notes, and the invoices it
touched.

Opened three ways: by the circuit breaker (`on_breaker`, called in the breaker's own transaction,
so the incident starts at the moment the breaker opened and ends when it closed), by a
reconciliation that finds a cluster of missing invoices (`after_reconcile`), or by hand.

The affected invoices are computed, not stored: invoices whose outbox entry was waiting while the
incident lasted (created before it ended, not finished before it began), paper invoices entered
for it, and for an incident a reconciliation opened, the invoices it named (`pinned`, possibly
absent from the ledger) instead of the outbox's; each narrowed by the scope (directions, kinds, counterparties, departments).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, or_, select, update

from fapiao import plugins
from fapiao.contingency.common import ContingencyError, day_start, iso_utc, utc_now_text
from fapiao.contingency.tables import incident_notes, incidents, manual_invoices
from fapiao.ledger import schema
from fapiao.ledger.store import Ledger, WriteTx
from fapiao.sync.tables import sync_outbox as ob

OPEN, CLOSED = "open", "closed"
CLUSTER_MIN = 3  # missing invoices …
CLUSTER_GAP_DAYS = 3  # … no more than this many days apart make a cluster
inv = schema.invoices


@dataclass(slots=True)
class Scope:
    """What the fault touched; an empty list means all."""

    directions: list[str] = field(default_factory=list)  # issued / received
    kinds: list[str] = field(default_factory=list)
    counterparties: list[str] = field(default_factory=list)  # tax IDs or parts of names
    departments: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: str | dict[str, Any] | None) -> Scope:
        data = json.loads(raw) if isinstance(raw, str) else (raw or {})
        return cls(
            **{k: [str(v) for v in data.get(k, []) if str(v).strip()] for k in cls.__slots__}
        )  # type: ignore[attr-defined]

    def to_json(self) -> dict[str, list[str]]:
        return asdict(self)

    def admits(self, row: dict[str, Any]) -> bool:
        if self.directions and row["direction"] not in self.directions:
            return False
        if self.kinds and row["kind"] not in self.kinds:
            return False
        if self.counterparties and not any(
            c == row["counterparty_tax_id"] or (c and c in row["counterparty_name"])
            for c in self.counterparties
        ):
            return False
        dept = row.get("department") or ""
        return not (self.departments and dept and dept not in self.departments)


# --- writing ---------------------------------------------------------------------------------------


def _note(tx: WriteTx, incident_id: int, kind: str, text: str, at: str | None = None) -> None:
    (nid,) = tx.new_ids(1)
    tx.insert(
        incident_notes,
        [
            {
                "id": nid,
                "incident_id": incident_id,
                "at": at or tx.now,
                "actor": tx.actor,
                "kind": kind,
                "text": text[:4000],
            }
        ],
    )


def _public(row: Any) -> dict[str, Any]:
    r = dict(row._mapping) if not isinstance(row, dict) else dict(row)
    r["scope"] = Scope.from_json(r["scope"]).to_json()
    r["pinned"] = json.loads(r["pinned"]) if isinstance(r["pinned"], str) else r["pinned"]
    return r


def open_in(
    tx: WriteTx,
    *,
    tenant_id: int | None,
    title: str,
    started_at: str,
    cause: str = "manual",
    cause_key: str = "",
    scope: Scope | None = None,
    pinned: list[dict[str, Any]] | None = None,
    note: str = "",
) -> int:
    """Open an incident inside the caller's transaction."""
    (iid,) = tx.new_ids(1)
    row = {
        "id": iid,
        "tenant_id": tenant_id,
        "title": title.strip()[:200] or "故障 / incident",
        "cause": cause,
        "cause_key": cause_key[:120],
        "state": OPEN,
        "started_at": started_at,
        "ended_at": "",
        "scope": json.dumps((scope or Scope()).to_json(), ensure_ascii=False),
        "pinned": json.dumps(pinned or [], ensure_ascii=False, sort_keys=True),
        "created_at": tx.now,
        "updated_at": tx.now,
    }
    tx.insert(incidents, [row])
    _note(tx, iid, "opened", note or title, at=started_at)
    tx.event("incident.opened", "incident", iid, _public(row), tenant_id=tenant_id)
    return iid


def close_in(tx: WriteTx, incident_id: int, *, ended_at: str, note: str = "") -> None:
    row = tx.conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
    if row is None:
        raise ContingencyError(
            f"找不到事件 {incident_id}", f"no incident {incident_id}", code="not_found"
        )
    if row.state != OPEN:
        raise ContingencyError("事件已关闭", "the incident is already closed", code="state")
    if ended_at < row.started_at:
        raise ContingencyError("结束时间早于开始时间", "the end is before the start", code="usage")
    tx.conn.execute(
        update(incidents)
        .where(incidents.c.id == incident_id)
        .values(state=CLOSED, ended_at=ended_at, updated_at=tx.now)
    )
    _note(tx, incident_id, "closed", note or "关闭 / closed", at=ended_at)
    tx.event(
        "incident.closed",
        "incident",
        incident_id,
        {"ended_at": ended_at, "note": note},
        tenant_id=row.tenant_id,
    )


def open_incident(
    ledger: Ledger,
    *,
    tenant_id: int | None,
    title: str,
    started_at: str | None = None,
    scope: Scope | None = None,
    note: str = "",
) -> int:
    with ledger.write() as tx:
        iid = open_in(
            tx,
            tenant_id=tenant_id,
            title=title,
            started_at=started_at or tx.now,
            scope=scope,
            note=note,
        )
    plugins.notify(ledger.engine, "incident.opened", tenant_id, incident_id=iid, title=title)
    return iid


def close_incident(
    ledger: Ledger, incident_id: int, *, ended_at: str | None = None, note: str = ""
) -> None:
    with ledger.write() as tx:
        close_in(tx, incident_id, ended_at=ended_at or tx.now, note=note)


def add_note(ledger: Ledger, incident_id: int, text: str, *, kind: str = "note") -> None:
    if not text.strip():
        raise ContingencyError("备注为空", "the note is empty", code="usage")
    with ledger.write() as tx:
        row = tx.conn.execute(
            select(incidents.c.tenant_id).where(incidents.c.id == incident_id)
        ).first()
        if row is None:
            raise ContingencyError(
                f"找不到事件 {incident_id}", f"no incident {incident_id}", code="not_found"
            )
        _note(tx, incident_id, kind, text.strip())
        tx.event(
            "incident.note", "incident", incident_id, {"kind": kind, "text": text.strip()},
            tenant_id=row.tenant_id,
        )  # fmt: skip


# --- hooks -----------------------------------------------------------------------------------------


def on_breaker(tx: WriteTx, action: str, state: dict[str, Any]) -> None:
    """Called by the circuit breaker in the transaction that records its change of state."""
    open_rows = tx.conn.execute(
        select(incidents.c.id).where(incidents.c.cause == "breaker", incidents.c.state == OPEN)
    ).all()
    reason = str(state.get("reason", ""))
    if action == "sync.breaker_opened" and not open_rows:
        started = iso_utc(float(state.get("opened_at") or 0) or dt.datetime.now(dt.UTC))
        open_in(
            tx,
            tenant_id=None,
            title="税务平台不可用 / the tax platform is unavailable",
            started_at=started,
            cause="breaker",
            cause_key=f"breaker:{state.get('opened_at')}",
            note=f"断路器打开 / circuit breaker opened: {reason}",
        )
    elif action == "sync.breaker_closed":
        ended = iso_utc(float(state.get("changed_at") or 0) or dt.datetime.now(dt.UTC))
        for (iid,) in open_rows:
            close_in(tx, iid, ended_at=ended, note="断路器恢复 / circuit breaker closed")


def after_reconcile(ledger: Ledger, result: Any) -> list[int]:
    """Open (or extend) an incident for each cluster of missing invoices a reconciliation found."""
    scope = result.scope
    missing = [
        e
        for cat in ("missing_at_authority", "missing_in_ledger")
        for e in result.entries.get(cat, [])
        if e.issue_date is not None
    ]
    clusters = _clusters(missing)
    if not clusters:
        return []
    opened: list[int] = []
    with ledger.write() as tx:
        existing = [
            _public(r)
            for r in tx.conn.execute(
                select(incidents).where(
                    incidents.c.cause == "reconcile", incidents.c.tenant_id == scope.tenant_id
                )
            )
        ]
        for cluster in clusters:
            pinned = [_pin(e) for e in cluster]
            keys = {p["key"] for p in pinned}
            direction = cluster[0].direction
            if any(keys <= {p["key"] for p in inc["pinned"]} for inc in existing):
                continue
            target = next(
                (
                    inc
                    for inc in existing
                    if inc["state"] == OPEN
                    and inc["scope"]["directions"] == [direction]
                    and keys & {p["key"] for p in inc["pinned"]}
                ),
                None,
            )
            if target is not None:
                known = {p["key"] for p in target["pinned"]}
                target["pinned"] += [p for p in pinned if p["key"] not in known]
                text = json.dumps(target["pinned"], ensure_ascii=False, sort_keys=True)
                tx.conn.execute(
                    update(incidents)
                    .where(incidents.c.id == target["id"])
                    .values(pinned=text, updated_at=tx.now)
                )
                _note(tx, target["id"], "reconcile", f"对账新增 {len(keys - known)} 张缺失发票")
                tx.event(
                    "incident.pinned", "incident", target["id"],
                    {"added": sorted(keys - known)}, tenant_id=scope.tenant_id,
                )  # fmt: skip
                continue
            first = min(e.issue_date for e in cluster)
            last = max(e.issue_date for e in cluster)
            iid = open_in(
                tx,
                tenant_id=scope.tenant_id,
                title=f"对账发现 {len(cluster)} 张发票缺失 / {len(cluster)} invoices missing",
                started_at=day_start(first),
                cause="reconcile",
                cause_key=f"reconcile:{scope.tenant_id}:{direction}:{first}:{last}",
                scope=Scope(directions=[direction] if direction else []),
                pinned=pinned,
                note=f"对账 {scope.period or '全部'}：{first} 至 {last} 缺失 {len(cluster)} 张",
            )
            existing.append(
                _public(tx.conn.execute(select(incidents).where(incidents.c.id == iid)).one())
            )
            opened.append(iid)
    for inc in (i for i in existing if i["id"] in opened):  # told once the incidents are stored
        plugins.notify(
            ledger.engine,
            "incident.opened",
            scope.tenant_id,
            incident_id=inc["id"],
            title=inc["title"],
        )
    return opened


def _pin(e: Any) -> dict[str, Any]:
    return {
        "key": e.key,
        "code": e.code,
        "number": e.number,
        "category": e.category,
        "direction": e.direction,
        "issue_date": e.issue_date.isoformat() if e.issue_date else "",
        "counterparty_tax_id": e.counterparty_tax_id,
        "counterparty_name": e.counterparty_name,
        "total": int(e.total),
    }


def _clusters(entries: list[Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    by_dir: dict[str, list[Any]] = {}
    for e in entries:
        by_dir.setdefault(e.direction, []).append(e)
    for group in by_dir.values():
        group.sort(key=lambda e: (e.issue_date, e.key))
        run: list[Any] = []
        for e in group:
            if run and (e.issue_date - run[-1].issue_date).days > CLUSTER_GAP_DAYS:
                if len(run) >= CLUSTER_MIN:
                    out.append(run)
                run = []
            run.append(e)
        if len(run) >= CLUSTER_MIN:
            out.append(run)
    return out


# --- reading ---------------------------------------------------------------------------------------


def list_incidents(
    engine: Engine, *, state: str | None = None, tenant_ids: frozenset[int] | None = None
) -> list[dict[str, Any]]:
    stmt = select(incidents).order_by(incidents.c.started_at.desc(), incidents.c.id.desc())
    if state:
        stmt = stmt.where(incidents.c.state == state)
    if tenant_ids is not None:
        stmt = stmt.where(
            or_(incidents.c.tenant_id.is_(None), incidents.c.tenant_id.in_(list(tenant_ids)))
        )
    with engine.connect() as conn:
        return [_public(r) for r in conn.execute(stmt)]


def get_incident(engine: Engine, incident_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).first()
        if row is None:
            raise ContingencyError(
                f"找不到事件 {incident_id}", f"no incident {incident_id}", code="not_found"
            )
        notes = conn.execute(
            select(incident_notes)
            .where(incident_notes.c.incident_id == incident_id)
            .order_by(incident_notes.c.at, incident_notes.c.id)
        )
        out = _public(row)
        out["notes"] = [dict(n._mapping) for n in notes]
    return out


def open_covering(engine: Engine, tenant_id: int) -> list[dict[str, Any]]:
    """Open incidents that cover a tenant (its own, or the platform's as a whole)."""
    return [
        i
        for i in list_incidents(engine, state=OPEN)
        if i["tenant_id"] is None or i["tenant_id"] == tenant_id
    ]


def _row_out(r: Any, reason: str) -> dict[str, Any]:
    issued = r.direction == "issued"
    return {
        "invoice_id": r.id,
        "tenant_id": r.tenant_id,
        "identity_key": r.identity_key,
        "code": r.code,
        "number": r.number,
        "kind": r.kind,
        "direction": r.direction,
        "issue_date": r.issue_date.isoformat(),
        "counterparty_tax_id": r.buyer_tax_id if issued else r.seller_tax_id,
        "counterparty_name": r.buyer_name if issued else r.seller_name,
        "total": int(r.total),
        "source": r.source,
        "authority_state": r.authority_state,
        "reason": reason,
        "department": "",
        "linked": "",
    }


def affected(
    engine: Engine, incident: dict[str, Any], *, tenant_id: int | None = None
) -> list[dict[str, Any]]:
    """The invoices the incident touched, in scope, ordered by date and number."""
    scope = Scope.from_json(incident["scope"])
    tenant = incident["tenant_id"] if incident["tenant_id"] is not None else tenant_id
    start = incident["started_at"]
    end = incident["ended_at"] or utc_now_text()
    rows: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        waiting = select(inv).where(
            inv.c.id.in_(
                select(ob.c.invoice_id).where(
                    ob.c.created_at <= end,
                    or_(ob.c.state.in_(["pending", "sent"]), ob.c.updated_at >= start),
                )
            ),
            inv.c.source != "manual",
        )
        if tenant is not None:
            waiting = waiting.where(inv.c.tenant_id == tenant)
        if incident["cause"] != "reconcile":  # a reconciliation names its invoices itself
            for r in conn.execute(waiting):
                rows[r.id] = _row_out(r, "queued")
        paper = (
            select(inv, manual_invoices.c.department, manual_invoices.c.linked_invoice_id)
            .select_from(inv.join(manual_invoices, manual_invoices.c.invoice_id == inv.c.id))
            .where(manual_invoices.c.incident_id == incident["id"])
        )
        if tenant is not None:
            paper = paper.where(inv.c.tenant_id == tenant)
        linked_ids: dict[int, int] = {}
        for r in conn.execute(paper):
            out = _row_out(r, "manual")
            out["department"] = r.department
            rows[r.id] = out
            if r.linked_invoice_id:
                linked_ids[r.id] = r.linked_invoice_id
        if linked_ids:
            numbers = dict(
                conn.execute(
                    select(inv.c.id, inv.c.identity_key).where(
                        inv.c.id.in_(list(linked_ids.values()))
                    )
                ).all()
            )
            for mid, eid in linked_ids.items():
                rows[mid]["linked"] = numbers.get(eid, "")
                rows.pop(eid, None)  # shown beside its paper invoice, not as a row of its own
        pinned = incident["pinned"]
        if pinned:
            keys = [p["key"] for p in pinned]
            stmt = select(inv).where(inv.c.identity_key.in_(keys))
            if tenant is not None:
                stmt = stmt.where(inv.c.tenant_id == tenant)
            found = {r.identity_key: r for r in conn.execute(stmt)}
            for p in pinned:
                r = found.get(p["key"])
                if r is not None:
                    rows[r.id] = _row_out(r, p["category"])
                else:
                    rows[-len(rows) - 1] = {
                        "invoice_id": None,
                        "tenant_id": tenant,
                        "identity_key": p["key"],
                        "code": p["code"],
                        "number": p["number"],
                        "kind": "",
                        "direction": p["direction"],
                        "issue_date": p["issue_date"],
                        "counterparty_tax_id": p["counterparty_tax_id"],
                        "counterparty_name": p["counterparty_name"],
                        "total": int(p["total"]),
                        "source": "authority",
                        "authority_state": "",
                        "reason": p["category"],
                        "department": "",
                        "linked": "",
                    }
    picked = [r for r in rows.values() if scope.admits(r)]
    picked.sort(key=lambda r: (r["issue_date"], r["identity_key"]))
    return picked
