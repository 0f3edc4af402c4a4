"""Verifying the audit chain and the current state against it.

The walk recomputes every event's hash from its stored fields and the previous hash, checks that the
sequence numbers run 1, 2, 3 … without a gap, that the head row names the last event, and that each
invoice row is in the state its last event recorded, its line items and findings too, and that every
original file still hashes to the SHA-256 it is kept under (`audit_rows`; `blobs=False` skips the
re-hashing for a quick check of a huge ledger). So a row edited, deleted, inserted or reordered
behind the program's back is found, and the first broken event is named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from fapiao.findings import Finding, Severity
from fapiao.ledger import audit_rows, schema
from fapiao.ledger.store import GENESIS, event_hash, row_hash


@dataclass(slots=True)
class AuditReport:
    events: int = 0
    invoices: int = 0
    problems: list[Finding] = field(default_factory=list)
    details: int = 0  # invoices whose line items and findings were compared with their event
    uncovered: int = 0  # invoices recorded before events carried a detail hash (not comparable)
    blobs: int | None = None  # original files hashed again (None: skipped)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "events": self.events,
            "invoices": self.invoices,
            "details": self.details,
            "uncovered": self.uncovered,
            "blobs": self.blobs,
            "problems": [p.to_json() for p in self.problems],
        }


def _broken(field_: str, zh: str, en: str) -> Finding:
    return Finding("audit_broken", field_, Severity.ERROR, zh, en)


def verify(engine: Engine, *, max_problems: int = 20, blobs: bool = True) -> AuditReport:
    report = AuditReport()
    last_state: dict[str, str] = {}
    last_detail: dict[str, str] = {}

    def add(problem: Finding) -> bool:
        report.problems.append(problem)
        return len(report.problems) < max_problems

    with engine.connect() as conn:
        _walk_chain(conn, report, last_state, last_detail)
        if len(report.problems) < max_problems:
            _check_head(conn, report)
            report.details, report.uncovered = audit_rows.check_details(
                conn, last_detail, set(last_state), add
            )
        if len(report.problems) < max_problems:
            _check_invoices(conn, report, last_state, max_problems)
        if len(report.problems) < max_problems:
            audit_rows.check_originals_present(conn, add)
        if blobs and len(report.problems) < max_problems:
            report.blobs = audit_rows.check_blobs(conn, add)
    return report


def _walk_chain(
    conn: object, report: AuditReport, last_state: dict[str, str], last_detail: dict[str, str]
) -> None:
    prev_hash, expected_seq = GENESIS, 1
    ev = schema.events
    rows = conn.execution_options(yield_per=5000).execute(select(ev).order_by(ev.c.seq))  # type: ignore[attr-defined]
    for row in rows:
        report.events += 1
        where = f"event {row.seq}"
        if row.seq != expected_seq:
            report.problems.append(
                _broken(
                    where,
                    f"事件序号不连续：应为 {expected_seq}，实为 {row.seq}（有事件被删除或插入）",
                    f"sequence gap: expected {expected_seq}, found {row.seq} (an event was deleted or inserted)",
                )
            )
            return
        if row.prev_hash != prev_hash:
            report.problems.append(
                _broken(
                    where,
                    f"事件 {row.seq} 的前一哈希与链不符（顺序被改动）",
                    f"event {row.seq} does not follow the previous event (reordered or replaced)",
                )
            )
            return
        fields = [
            row.seq,
            row.ts,
            row.actor,
            row.tenant_id,
            row.action,
            row.entity,
            row.entity_id,
            row.payload,
        ]
        if event_hash(prev_hash, fields) != row.hash:
            report.problems.append(
                _broken(
                    where,
                    f"事件 {row.seq} 的内容被修改（哈希不符）",
                    f"event {row.seq} was edited (hash does not match)",
                )
            )
            return
        if row.entity == "invoice":
            payload = json.loads(row.payload)
            state = payload.get("row_hash")
            if state:
                last_state[row.entity_id] = state
            detail = payload.get("detail_hash")
            if detail:
                last_detail[row.entity_id] = detail
        prev_hash, expected_seq = row.hash, expected_seq + 1


def _check_head(conn: object, report: AuditReport) -> None:
    head = conn.execute(select(schema.ledger_head)).one()  # type: ignore[attr-defined]
    if head.seq != report.events:
        report.problems.append(
            _broken(
                "ledger_head",
                f"链头记录 {head.seq} 个事件，实有 {report.events} 个（末尾事件被删除或插入）",
                f"the head records {head.seq} events, the log has {report.events} (events at the end deleted or added)",
            )
        )
    elif report.events and head.hash != _last_hash(conn):
        report.problems.append(
            _broken(
                "ledger_head",
                "链头哈希与最后一个事件不符",
                "the head hash does not match the last event",
            )
        )


def _last_hash(conn: object) -> str:
    ev = schema.events
    return conn.execute(select(ev.c.hash).order_by(ev.c.seq.desc()).limit(1)).scalar_one()  # type: ignore[attr-defined]


def _check_invoices(
    conn: object, report: AuditReport, last_state: dict[str, str], limit: int
) -> None:
    inv = schema.invoices
    rows = conn.execution_options(yield_per=5000).execute(select(inv).order_by(inv.c.id))  # type: ignore[attr-defined]
    for row in rows:
        report.invoices += 1
        key = str(row.id)
        recorded = last_state.pop(key, None)
        if recorded is None:
            report.problems.append(
                _broken(
                    f"invoice {key}",
                    f"发票记录 {key} 没有对应的事件（被绕过程序插入）",
                    f"invoice row {key} has no event (inserted behind the program's back)",
                )
            )
        elif row_hash(dict(row._mapping)) != recorded:
            report.problems.append(
                _broken(
                    f"invoice {key}",
                    f"发票记录 {key} 与其最后一个事件不符（被绕过程序修改）",
                    f"invoice row {key} differs from its last event (edited behind the program's back)",
                )
            )
        if len(report.problems) >= limit:
            return
    for key in list(last_state)[: max(0, limit - len(report.problems))]:
        report.problems.append(
            _broken(
                f"invoice {key}",
                f"发票记录 {key} 已不存在（被绕过程序删除）",
                f"invoice row {key} is gone (deleted behind the program's back)",
            )
        )
