"""How each table is cut into segments and how an incremental finds what changed without a scan.

A table is cut into segments by its key column: segment i holds the rows whose key lies in
[lo_i, lo_i+1) (the first segment starts at -inf, the last runs to +inf), so every row belongs to
exactly one segment and a row added in a gap still has a home. An incremental snapshot re-reads
only some segments and keeps the rest from its parent:

- `append`: rows are only added, with growing keys (the event log: the hash chain proves it). Only
  the last segment is re-read.
- `entities`: a change to a row is recorded by an event naming the entity and its integer id, in the
  same transaction (the ledger's rule; `audit verify` checks it for invoices). The segments holding
  the ids named by events after the parent's head are re-read, and the last one.
- `recent`: rows are immutable once written and stamped with a creation time (original files).
  Segments holding rows stamped within RECENT_SLACK of the parent are re-read, and the last one;
  the slack covers writers that commit long after they took their timestamp.
- `all`: every segment is re-read; unchanged segments still produce the same chunk names, so only
  changed ones are stored. This is the default for tables with no plan.

Keys are integers or ISO-8601 timestamps of one fixed format, which order alike on every engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, SmallInteger, Table

RECENT_SLACK = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Plan:
    key: str | None  # segment column; None: the whole table is one segment
    change: str  # append / entities / recent / all
    entities: tuple[str, ...] = ()


PLANS: dict[str, Plan] = {
    "events": Plan("seq", "append"),
    "invoices": Plan("id", "entities", ("invoice",)),
    "line_items": Plan("invoice_id", "entities", ("invoice",)),
    "invoice_findings": Plan("invoice_id", "entities", ("invoice",)),
    "blobs": Plan("created_at", "recent"),
}


def _is_int(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, Integer | BigInteger | SmallInteger)


def plan_for(table: Table | None, name: str) -> Plan:
    if name in PLANS and table is not None:
        return PLANS[name]
    if table is not None:
        pk = list(table.primary_key.columns)
        if pk and _is_int(table, pk[0].name):
            return Plan(pk[0].name, "all")
    return Plan(None, "all")
