"""Verifying the newest part of the audit chain, for ledgers too large to walk daily.

The newest `tail` events must follow each other (sequence and previous hash), each hash must be
recomputed from its stored fields, and the head row must name the last of them. The whole chain is
walked by `fapiao audit verify` (and by the daily check below `audit_full_below` events).
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from fapiao.findings import Finding, Severity
from fapiao.ledger import schema
from fapiao.ledger.store import event_hash


def _broken(where: str, zh: str, en: str) -> Finding:
    return Finding("audit_broken", where, Severity.ERROR, zh, en)


def verify_tail(engine: Engine, tail: int) -> list[Finding]:
    ev = schema.events
    with engine.connect() as conn:
        rows = list(conn.execute(select(ev).order_by(ev.c.seq.desc()).limit(tail)))
        head = conn.execute(select(schema.ledger_head)).one()
    rows.reverse()
    if not rows:
        return []
    prev = rows[0].prev_hash
    expected = rows[0].seq
    for row in rows:
        where = f"event {row.seq}"
        if row.seq != expected or row.prev_hash != prev:
            return [
                _broken(
                    where,
                    f"事件 {row.seq} 与前一事件不相接（有事件被删除、插入或调换）",
                    f"event {row.seq} does not follow the previous one (deleted, inserted or reordered)",
                )
            ]
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
        if event_hash(prev, fields) != row.hash:
            return [
                _broken(
                    where,
                    f"事件 {row.seq} 的内容被修改（哈希不符）",
                    f"event {row.seq} was edited (hash does not match)",
                )
            ]
        prev, expected = row.hash, expected + 1
    if head.seq != rows[-1].seq or head.hash != rows[-1].hash:
        return [
            _broken(
                "ledger_head",
                f"链头（{head.seq}）与最后一个事件（{rows[-1].seq}）不符",
                f"the head ({head.seq}) does not match the last event ({rows[-1].seq})",
            )
        ]
    return []
