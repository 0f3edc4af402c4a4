"""Both sides as Arrow tables with the same columns, ready for the engine's SQL.

The ledger is streamed with a plain DB-API cursor in batches (no DuckDB extension, nothing
downloaded): each batch of row tuples becomes one Arrow struct array in C, which measured fastest
(see bench/reconcile.py). The authority's records come from a connector or an export file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from fapiao.model import AuthorityRecord

FETCH_ROWS = 50_000

LEDGER_COLUMNS = (
    "identity_key",
    "issue_date",
    "amount",
    "tax",
    "total",
    "status",
    "seller_tax_id",
    "buyer_tax_id",
    "CASE WHEN status = 'red' THEN original_key END",  # the blue invoice a red one reverses
)
LEDGER_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("issue_date", pa.date32()),
        ("amount", pa.int64()),
        ("tax", pa.int64()),
        ("total", pa.int64()),
        ("status", pa.string()),
        ("seller_tax_id", pa.string()),
        ("buyer_tax_id", pa.string()),
        ("red_of", pa.string()),
    ]
)

AUTHORITY_SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("code", pa.string()),
        ("number", pa.string()),
        ("kind", pa.string()),
        ("issue_date", pa.date32()),
        ("seller_tax_id", pa.string()),
        ("seller_name", pa.string()),
        ("buyer_tax_id", pa.string()),
        ("buyer_name", pa.string()),
        ("amount", pa.int64()),
        ("tax", pa.int64()),
        ("total", pa.int64()),
        ("status", pa.string()),
        ("platform_status", pa.string()),
        ("original_key", pa.string()),
        ("rn", pa.int64()),  # position in the list: the first of duplicates is the one compared
    ]
)


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose books and which days: a tenant and an inclusive date range (None: all dates)."""

    tenant_id: int
    tax_id: str
    name: str = ""
    period: str = ""  # as the user wrote it: YYYY-MM, YYYY or ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def contains(self, day: dt.date) -> bool:
        return (self.date_from is None or day >= self.date_from) and (
            self.date_to is None or day <= self.date_to
        )


def authority_table(records: Iterable[AuthorityRecord]) -> pa.Table:
    rows = [
        (
            r.identity.key,
            r.code,
            r.number,
            r.kind.value,
            r.issue_date,
            r.seller.tax_id,
            r.seller.name,
            r.buyer.tax_id,
            r.buyer.name,
            r.amount,
            r.tax,
            r.total,
            r.status.value,
            r.platform_status,
            r.original.key if r.original else "",
            n,
        )
        for n, r in enumerate(records)
    ]
    struct = pa.array(rows, pa.struct(list(AUTHORITY_SCHEMA)))
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(struct)], AUTHORITY_SCHEMA)


def _ledger_select(where: str) -> str:
    return f"SELECT {', '.join(LEDGER_COLUMNS)} FROM invoices WHERE {where}"


def _batch(rows: list[tuple[object, ...]], text_dates: bool) -> pa.RecordBatch:
    if text_dates:  # SQLite keeps DATE as 'YYYY-MM-DD' text
        raw = pa.schema(
            [f.with_type(pa.string()) if f.name == "issue_date" else f for f in LEDGER_SCHEMA]
        )
        batch = pa.RecordBatch.from_struct_array(pa.array(rows, pa.struct(list(raw))))
        dates = pc.cast(batch.column(1), pa.date32())
        return pa.RecordBatch.from_arrays(
            [batch.column(0), dates, *batch.columns[2:]], schema=LEDGER_SCHEMA
        )
    struct = pa.array(rows, pa.struct(list(LEDGER_SCHEMA)))
    return pa.RecordBatch.from_struct_array(struct)


def read_ledger(engine: Engine, scope: Scope) -> pa.Table:
    """The tenant's invoices dated in the scope."""
    return pa.Table.from_batches(list(iter_ledger(engine, scope)), LEDGER_SCHEMA)


def iter_ledger(engine: Engine, scope: Scope) -> Iterator[pa.RecordBatch]:
    """The tenant's invoices dated in the scope, a batch at a time."""
    sqlite = engine.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    where = f"tenant_id = {mark}"
    params: list[object] = [scope.tenant_id]
    if scope.date_from is not None and scope.date_to is not None:
        where += f" AND issue_date BETWEEN {mark} AND {mark}"
        params += [scope.date_from.isoformat(), scope.date_to.isoformat()]
    sql = _ledger_select(where)
    if sqlite and scope.date_from is None:
        # a full scan reads the table in order; the (tenant, date) index would visit it at random
        sql = sql.replace("FROM invoices", "FROM invoices NOT INDEXED")
    return _fetch(engine, [(sql, params)])


def read_ledger_keys(engine: Engine, tenant_id: int, keys: Iterable[str]) -> pa.Table:
    """The tenant's invoices with the given identity keys, whatever their dates."""
    return pa.Table.from_batches(list(iter_ledger_keys(engine, tenant_id, keys)), LEDGER_SCHEMA)


def iter_ledger_keys(
    engine: Engine, tenant_id: int, keys: Iterable[str]
) -> Iterator[pa.RecordBatch]:
    mark = "?" if engine.dialect.name == "sqlite" else "%s"
    wanted = list(dict.fromkeys(keys))
    queries: list[tuple[str, list[object]]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join([mark] * len(chunk))
        where = f"tenant_id = {mark} AND identity_key IN ({marks})"
        queries.append((_ledger_select(where), [tenant_id, *chunk]))
    return _fetch(engine, queries)


def _fetch(engine: Engine, queries: list[tuple[str, list[object]]]) -> Iterator[pa.RecordBatch]:
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        # PostgreSQL: a server-side cursor, so the rows come in batches, not all at once
        cur = raw.cursor() if sqlite else raw.driver_connection.cursor(name="fapiao_reconcile")  # type: ignore[union-attr]
        for sql, params in queries:
            cur.execute(sql, params)
            while rows := cur.fetchmany(FETCH_ROWS):
                yield _batch(rows, sqlite)
        cur.close()
    finally:
        raw.close()


def ledger_red_originals(engine: Engine, tenant_id: int, since: dt.date) -> pa.Table:
    """Identity keys of blue invoices that a red invoice of the ledger dated from `since` on
    reverses (a red invoice is never older than its blue one)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        mark = "?" if engine.dialect.name == "sqlite" else "%s"
        cur.execute(
            "SELECT DISTINCT original_key FROM invoices WHERE tenant_id = "
            f"{mark} AND issue_date >= {mark} AND status = 'red' AND original_key <> ''",
            [tenant_id, since.isoformat()],
        )
        keys = [r[0] for r in cur.fetchall()]
        cur.close()
    finally:
        raw.close()
    return pa.table({"original_key": pa.array(keys, pa.string())})
