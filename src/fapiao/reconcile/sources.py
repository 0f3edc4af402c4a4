"""Both sides as Arrow tables with the same columns, ready for the engine's SQL.

The ledger's columns are read through ADBC (the Arrow database drivers for SQLite and PostgreSQL):
the driver fills Arrow columns in C, no Python object per row, no DuckDB extension to download.
A SQLite ledger is read in slices of its rowid range, one connection each, side by side (see
bench/reconcile.py). The authority's records come from a connector or an export file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_pg
import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine

from fapiao.authority.export_table import EXPORT_SCHEMA, record_of
from fapiao.model import AuthorityRecord

FETCH_ROWS = 50_000

LEDGER_COLUMNS = (
    "identity_key AS key",
    "issue_date",
    "amount",
    "tax",
    "total",
    "status",
    "seller_tax_id",
    "buyer_tax_id",
)
# (the red invoices' blue ones are read apart, `ledger_red_originals`: an expression column here
# cost every row a fifth of the read)
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
    ]
)

# the platform's columns the comparison reads: the export table's own, up to its list position
# (`rn`: the first of duplicates is the one compared); the rest (source, risk, …) stay with the file
AUTHORITY_SCHEMA = pa.schema(list(EXPORT_SCHEMA)[: EXPORT_SCHEMA.get_field_index("rn") + 1])


class AuthorityRows:
    """The authority's list as an Arrow table (`export_table.EXPORT_SCHEMA`, `rn` its position):
    a record is built only for the few rows a finding names."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, rn: int) -> AuthorityRecord:
        return record_of(self.table.slice(rn, 1).to_pylist()[0])

    def records_at(self, rns: Iterable[int]) -> dict[int, AuthorityRecord]:
        """The records at these positions, taken from the table in one pass."""
        wanted = sorted(set(rns))
        picked = self.table.take(pa.array(wanted, pa.int64())).to_pylist() if wanted else []
        return {rn: record_of(row) for rn, row in zip(wanted, picked, strict=True)}

    def reds_of(self, key: str) -> list[AuthorityRecord]:
        """The records that name `key` as the blue invoice they reverse."""
        picked = self.table.filter(pc.equal(self.table["original_key"], key))
        return [record_of(row) for row in picked.to_pylist()]


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


def _marks(engine: Engine) -> Callable[[int, str], str]:
    """The placeholder for the i-th parameter: `?` for SQLite, `$i::type` for PostgreSQL."""
    if engine.dialect.name == "sqlite":
        return lambda _i, _type: "?"
    return lambda i, type_: f"${i}::{type_}"


Query = tuple[str, list[object]]


def ledger_queries(engine: Engine, scope: Scope, parts: int = 1) -> list[Query]:
    """The tenant's invoices dated in the scope, as `parts` queries over disjoint slices of the
    table (SQLite), so that as many connections can read them side by side."""
    mark = _marks(engine)
    where = f"tenant_id = {mark(1, 'bigint')}"
    params: list[object] = [scope.tenant_id]
    if scope.date_from is not None and scope.date_to is not None:
        where += f" AND issue_date BETWEEN {mark(2, 'date')} AND {mark(3, 'date')}"
        params += [scope.date_from.isoformat(), scope.date_to.isoformat()]
    sql = _ledger_select(where)
    if engine.dialect.name != "sqlite":
        return [(sql, params)]
    if scope.date_from is None:
        # a full scan reads the table in order; the (tenant, date) index would visit it at random
        sql = sql.replace("FROM invoices", "FROM invoices NOT INDEXED")
    with engine.connect() as conn:  # both ends of the rowid b-tree: two page reads
        lo, hi = conn.exec_driver_sql(
            "SELECT (SELECT MIN(rowid) FROM invoices), (SELECT MAX(rowid) FROM invoices)"
        ).one()
    if lo is None or parts <= 1:
        return [(sql, params)]
    step = (hi - lo) // parts + 1
    return [
        (f"{sql} AND rowid BETWEEN {lo + i * step} AND {lo + (i + 1) * step - 1}", params)
        for i in range(parts)
    ]


def ledger_key_queries(engine: Engine, tenant_id: int, keys: Iterable[str]) -> list[Query]:
    """The tenant's invoices with the given identity keys, whatever their dates."""
    mark = _marks(engine)
    wanted = list(dict.fromkeys(keys))
    queries: list[Query] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join(mark(i, "text") for i in range(2, len(chunk) + 2))
        where = f"tenant_id = {mark(1, 'bigint')} AND identity_key IN ({marks})"
        queries.append((_ledger_select(where), [tenant_id, *chunk]))
    return queries


def ledger_table(engine: Engine, queries: list[Query]) -> pa.Table:
    """The queries' rows as one Arrow table with LEDGER_SCHEMA's columns.

    Through ADBC when the ledger is a SQLite file or PostgreSQL: the driver builds the Arrow
    columns in C, with no Python object per row or value, and the interpreter lock is released
    while it reads, so slices read on threads of their own run side by side. An in-memory SQLite
    ledger (tests) is read through its own connection instead."""
    connect = adbc_connect(engine)
    if connect is None:
        batches = list(_fetch_cursor(engine, queries))
        return _conform(pa.Table.from_batches(batches, RAW_LEDGER_SCHEMA))
    parts = []
    with connect() as con, con.cursor() as cur:
        _prepare(con, cur)
        for sql, params in queries:
            cur.execute(sql, parameters=tuple(params))
            parts.append(_conform(cur.fetch_record_batch().read_all()))
    return pa.concat_tables(parts) if parts else LEDGER_SCHEMA.empty_table()


def _prepare(con: Any, cur: Any) -> None:
    if isinstance(con, adbc_sqlite.Connection):
        # wait for a writer's lock as the ledger's own connections do, rather than fail
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.fetchall()
        # batches of 1024 rows (the default) would cost a round each
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(FETCH_ROWS)})


def adbc_connect(engine: Engine) -> Callable[[], Any] | None:
    """A function opening an ADBC connection to the engine's database, or None where there is
    none to open (an in-memory SQLite database lives only in its own connection)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        db = url.database or ""
        if db in ("", ":memory:") or db.startswith("file:"):
            return None
        uri = Path(db).resolve().as_uri() + "?mode=ro"
        return lambda: adbc_sqlite.connect(uri)
    if url.get_backend_name() == "postgresql":
        pg = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return lambda: adbc_pg.connect(pg)
    return None


def _conform(table: pa.Table) -> pa.Table:
    """A table as LEDGER_SCHEMA: SQLite gives dates as text (cast here by Arrow, in C), and types
    a column by its first rows, so an empty result's columns come typed as whatever the driver
    guessed."""
    columns = []
    for column, field_ in zip(table.columns, LEDGER_SCHEMA, strict=True):
        if column.type != field_.type:
            if column.null_count == len(column):
                column = pa.nulls(len(column), field_.type)
            else:
                column = pc.cast(column, field_.type)
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=LEDGER_SCHEMA)


# SQLite's dates are text: as read, before `_conform`
RAW_LEDGER_SCHEMA = pa.schema(
    [f.with_type(pa.string()) if f.name == "issue_date" else f for f in LEDGER_SCHEMA]
)


def _fetch_cursor(engine: Engine, queries: list[Query]) -> Iterator[pa.RecordBatch]:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql, params in queries:
            cur.execute(sql, params)
            while rows := cur.fetchmany(FETCH_ROWS):
                struct = pa.array(rows, pa.struct(list(RAW_LEDGER_SCHEMA)))
                yield pa.RecordBatch.from_struct_array(struct)
        cur.close()
    finally:
        raw.close()


def ledger_red_originals(engine: Engine, tenant_id: int, since: dt.date | None) -> pa.Table:
    """Identity keys of blue invoices that a red invoice of the ledger dated from `since` on
    (None: any) reverses (a red invoice is never older than its blue one).

    Read through ADBC like the ledger's rows, as it runs beside them: two SQLite libraries in one
    process do not see each other's file locks, so the driver's connections and the ledger's own
    must not read a WAL database at the same time."""
    mark = _marks(engine)
    sql = (
        f"SELECT DISTINCT original_key FROM invoices WHERE tenant_id = {mark(1, 'bigint')} "
        "AND status = 'red' AND original_key <> ''"
    )
    params: list[object] = [tenant_id]
    if since is not None:
        sql += f" AND issue_date >= {mark(2, 'date')}"
        params.append(since.isoformat())
    connect = adbc_connect(engine)
    if connect is None:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql, params)
            keys = [r[0] for r in cur.fetchall()]
            cur.close()
        finally:
            raw.close()
        return pa.table({"original_key": pa.array(keys, pa.string())})
    with connect() as con, con.cursor() as cur:
        _prepare(con, cur)
        cur.execute(sql, parameters=tuple(params))
        table = cur.fetch_arrow_table()
    column = table.column(0)
    if column.type != pa.string():  # no rows: typed as whatever the driver guessed
        column = pc.cast(column, pa.string()) if len(column) else pa.array([], pa.string())
    return pa.table({"original_key": column})
