"""The diff engine: the ledger ⇄ the authority's list for one tenant and period.

The comparison itself is one SQL statement (`compare`): a full outer join on the identity key
that returns only the rows that are findings, each with a flag per category. It runs in DuckDB
over Arrow tables (the ledger read through ADBC, see `sources`, scanned where it lies, not copied)
or in the ledger's own PostgreSQL (the authority's list copied into a temporary table), so a
shared ledger is reconciled where it lives. Python builds a finding only for those few rows.

An invoice is in scope when either side dates it inside the period, so one dated 30 June in the
ledger and 1 July by the authority is a date mismatch, not two missing invoices. Status is compared
as each side's effective status: a blue invoice that a red one reverses counts as `red` on that side
(the ledger keeps the blue row `normal` beside its red invoice; the platform marks it 已红冲).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, text

from fapiao.model import AuthorityRecord, Identity
from fapiao.reconcile.compare import COMPARISONS, Row, counts_sql, diff_sql, in_period, lit
from fapiao.reconcile.sources import (
    AUTHORITY_SCHEMA,
    AuthorityRows,
    Scope,
    authority_table,
    ledger_key_queries,
    ledger_queries,
    ledger_red_originals,
    ledger_table,
)

CATEGORIES = (
    "missing_at_authority",
    "missing_in_ledger",
    "mismatched",
    "status_mismatch",
    "duplicates_at_authority",
    # 勾选 differs (received invoices, where the list states it): `deduction.py`
    "deduction_mismatch",
)
DUCKDB_MEMORY_LIMIT = "5GB"
# SQLite ledgers are read in this many slices side by side (reading rows is what costs)
READERS = min(4, os.cpu_count() or 1)


@dataclass(slots=True)
class Entry:
    """One finding about one invoice."""

    category: str
    code: str
    number: str
    issue_date: dt.date | None = None
    direction: str = ""  # issued / received, from the tenant's side of the invoice
    counterparty_tax_id: str = ""
    counterparty_name: str = ""
    total: int = 0  # 价税合计 (fen): the ledger's when it has the invoice, else the authority's
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    ledger_status: str = ""
    authority_status: str = ""
    count: int = 0  # duplicates: how often the authority lists it
    authority_rn: int | None = None  # the authority record's position in the list

    @property
    def key(self) -> str:
        return Identity(self.code, self.number).key

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "number": self.number}
        if self.category in ("mismatched", "deduction_mismatch"):
            out["fields"] = self.fields
        elif self.category == "status_mismatch":
            out["ledger"] = self.ledger_status
            out["authority"] = self.authority_status
        return out


@dataclass(slots=True)
class Result:
    scope: Scope
    ledger_count: int = 0
    authority_count: int = 0
    matched: int = 0
    entries: dict[str, list[Entry]] = field(default_factory=lambda: {c: [] for c in CATEGORIES})
    # the authority's list, when given as records or as an export's rows
    records: list[AuthorityRecord] | AuthorityRows | None = None
    # categories this run could not judge (the list does not state 勾选): their actions stay
    uncompared: set[str] = field(default_factory=lambda: {"deduction_mismatch"})
    # the list's records the findings name, taken from an export's rows in one pass (`record`)
    named: dict[int, AuthorityRecord] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ledger_count": self.ledger_count,
            "authority_count": self.authority_count,
            "matched": self.matched,
        }
        for cat in CATEGORIES:
            out[cat] = [e.to_json() for e in self.entries[cat]]
        return out

    @property
    def findings(self) -> int:
        return sum(len(v) for v in self.entries.values())

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories this run judged (reports show these; 勾选 only where the list states it)."""
        return tuple(c for c in CATEGORIES if c not in self.uncompared)

    def all_entries(self) -> list[Entry]:
        return [e for cat in CATEGORIES for e in self.entries[cat]]

    def record(self, entry: Entry) -> AuthorityRecord | None:
        """The list's record the entry names. From an export's rows, the first call takes the
        records of every finding at once: one at a time cost 80 µs each (3,000 findings: 0.24 s;
        an outage's hundred thousand, minutes)."""
        if self.records is None or entry.authority_rn is None:
            return None
        if isinstance(self.records, AuthorityRows):
            if self.named is None:
                self.named = self.records.records_at(
                    e.authority_rn for e in self.all_entries() if e.authority_rn is not None
                )
            if entry.authority_rn in self.named:  # (an entry added since is taken alone)
                return self.named[entry.authority_rn]
        return self.records[entry.authority_rn]

    def reds_of(self, key: str) -> list[AuthorityRecord]:
        """The authority's records that reverse the invoice `key` (red ones naming it)."""
        if not self.records:
            return []
        if isinstance(self.records, AuthorityRows):
            return self.records.reds_of(key)
        return [r for r in self.records if r.original and r.original.key == key]


LedgerSide = Future[tuple[pa.Table, pa.Table]]


def _backend(engine: Engine, backend: str) -> str:
    if backend == "auto":
        return "database" if engine.dialect.name == "postgresql" else "duckdb"
    return backend


@contextlib.contextmanager
def read_ahead(
    engine: Engine, scope: Scope, *, backend: str = "auto"
) -> Iterator[LedgerSide | None]:
    """Read the ledger's side of a DuckDB reconcile on threads of its own while the block reads
    the authority's list (an export of a million rows: the ledger's 0.5 s beside the file's
    1.2 s); hand what it yields to `reconcile(ahead=…)`. None where the database compares itself.
    The ledger is read as it stands now, as `reconcile` would read it a moment later.

    The block is not left before the reading has ended, whatever happens in it: the driver's
    SQLite and the ledger's own do not see each other's file locks, so nothing else in the process
    may use the ledger while the driver reads it (see `sources.ledger_red_originals`)."""
    if _backend(engine, backend) != "duckdb":
        yield None
        return
    reader = ThreadPoolExecutor(1, thread_name_prefix="fapiao-reconcile-ahead")
    try:  # in this context: the job's time budget (`deadline`) holds in the thread
        ahead = reader.submit(contextvars.copy_context().run, _read_ledger, engine, scope)
        yield ahead
    finally:
        reader.shutdown(wait=True)


def reconcile(
    engine: Engine,
    scope: Scope,
    authority: list[AuthorityRecord] | AuthorityRows | pa.Table,
    *,
    backend: str = "auto",
    ahead: LedgerSide | None = None,
) -> Result:
    """Compare; `backend` is `duckdb`, `database` (PostgreSQL only) or `auto` (the database when it
    is PostgreSQL, else DuckDB). The list: records, an export's rows, or a bare Arrow table.
    `ahead`: the ledger's side, read by `read_ahead` for the same scope."""
    records: list[AuthorityRecord] | AuthorityRows | None
    if isinstance(authority, pa.Table):
        records, table = None, authority
    elif isinstance(authority, AuthorityRows):
        records, table = authority, authority.table
    else:
        records = list(authority)
        table = authority_table(records)
    if _backend(engine, backend) == "database":
        rows, counts = _run_in_database(engine, scope, table)
    else:
        rows, counts = _run_in_duckdb(engine, scope, table, ahead)
    result = Result(scope, *counts, records=records)
    _classify(result, table, rows)
    # every ledger invoice in scope that the list lacks is a finding; the rest are matched
    result.matched = result.ledger_count - len(result.entries["missing_at_authority"])
    _fill_ledger_names(engine, scope, result)
    return result


def _read_ledger(engine: Engine, scope: Scope) -> tuple[pa.Table, pa.Table]:
    """The tenant's invoices in the period as Arrow (LEDGER_SCHEMA), and the keys its red
    invoices reverse. A SQLite ledger is read in slices of its rowid range, each on a thread and
    connection of its own: the driver reads with the interpreter lock released, so they run side
    by side, and the red invoices' query beside them."""
    queries = ledger_queries(engine, scope, READERS)
    parts = [[q] for q in queries] if engine.dialect.name == "sqlite" else [queries]
    with ThreadPoolExecutor(len(parts) + 1, thread_name_prefix="fapiao-reconcile-read") as pool:
        reds = pool.submit(ledger_red_originals, engine, scope.tenant_id, scope.date_from)
        tables = [pool.submit(ledger_table, engine, part) for part in parts]
        led = pa.concat_tables([t.result() for t in tables])
        return led, reds.result()


def _run_in_duckdb(
    engine: Engine, scope: Scope, auth: pa.Table, ahead: LedgerSide | None = None
) -> tuple[list[Row], tuple[int, int]]:
    led, led_red = ahead.result() if ahead is not None else _read_ledger(engine, scope)
    spill = Path(tempfile.gettempdir()) / "fapiao-duckdb"
    con = duckdb.connect(
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": str(spill),
            "threads": os.cpu_count() or 1,
        }
    )
    try:
        # Arrow tables are scanned where they lie: nothing is copied into DuckDB
        con.register("auth", auth)
        con.register("led_red", led_red)
        if scope.date_from is not None:
            # invoices the authority dates in the period but the ledger outside it
            con.register("led", led)
            outside = con.execute(
                f"SELECT DISTINCT key FROM auth WHERE ({in_period('issue_date', scope)}) "
                f"AND (seller_tax_id = {lit(scope.tax_id)} OR buyer_tax_id = {lit(scope.tax_id)}) "
                "AND key NOT IN (SELECT key FROM led)"
            ).fetchall()
            if outside:
                keys = [k for (k,) in outside]
                extra = ledger_table(engine, ledger_key_queries(engine, scope.tenant_id, keys))
                led = pa.concat_tables([led, extra])
                con.unregister("led")
        con.register("led", led)
        rows = con.execute(diff_sql(scope, "led", "led_red")).fetch_arrow_table().to_pylist()
        counts = con.execute(counts_sql(scope, "led", "led_red")).fetchone()
    finally:
        con.close()
    assert counts is not None
    return rows, (int(counts[0]), int(counts[1]))


PG_TYPES = {
    pa.string(): "TEXT",
    pa.int64(): "BIGINT",
    pa.date32(): "DATE",
}


def _run_in_database(
    engine: Engine, scope: Scope, auth: pa.Table
) -> tuple[list[Row], tuple[int, int]]:
    if engine.dialect.name != "postgresql":
        raise ValueError("the database backend needs PostgreSQL; use duckdb")
    tenant = int(scope.tenant_id)
    led = (
        "(SELECT identity_key AS key, issue_date, amount, tax, total, status, seller_tax_id, "
        f"buyer_tax_id FROM invoices WHERE tenant_id = {tenant})"
    )
    led_red = f"(SELECT original_key FROM invoices WHERE tenant_id = {tenant} AND status = 'red')"
    columns = ", ".join(f"{f.name} {PG_TYPES[f.type]}" for f in AUTHORITY_SCHEMA)
    with engine.connect() as conn, conn.begin():
        conn.execute(text(f"CREATE TEMP TABLE auth ({columns}) ON COMMIT DROP"))
        names = ", ".join(AUTHORITY_SCHEMA.names)
        cur = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # the list as CSV written by Arrow in C, a batch at a time: no Python value per cell.
        # An empty string is written quoted, so it stays '' rather than becoming NULL.
        with cur.copy(f"COPY auth ({names}) FROM STDIN (FORMAT csv)") as copy:
            for batch in auth.select(AUTHORITY_SCHEMA.names).to_batches(100_000):
                out = pa.BufferOutputStream()
                pacsv.write_csv(
                    batch, out, pacsv.WriteOptions(include_header=False, quoting_style="needed")
                )
                copy.write(out.getvalue().to_pybytes())
        cur.close()
        conn.execute(text("CREATE INDEX ON auth (key)"))
        conn.execute(text("ANALYZE auth"))
        # psycopg reads % as a placeholder's start
        diff = diff_sql(scope, led, led_red).replace("%", "%%")
        rows = [dict(r) for r in conn.exec_driver_sql(diff).mappings()]
        counts = conn.exec_driver_sql(counts_sql(scope, led, led_red).replace("%", "%%")).one()
    return rows, (int(counts[0]), int(counts[1]))


def _side(scope: Scope, seller: str, buyer: str) -> tuple[str, str]:
    """(direction, counterparty tax ID) from the tenant's place on the invoice."""
    if seller == scope.tax_id:
        return "issued", buyer
    return "received", seller


def _authority_details(auth: pa.Table, rns: list[int]) -> dict[int, dict[str, Any]]:
    """code, number and names of the few authority rows that findings name, picked out in Arrow."""
    if not rns:
        return {}
    # the four columns first, so that only they are filtered
    picked = auth.select(["rn", "code", "number", "seller_name", "buyer_name"])
    picked = picked.filter(pc.is_in(picked["rn"], value_set=pa.array(rns, pa.int64())))
    return {int(row["rn"]): row for row in picked.to_pylist()}


def _common(
    scope: Scope, row: Row, side: str, details: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """What every finding about the row says, read from `side` (`l` the ledger, `a` the list);
    its identity and names come from the list's record when the list holds it."""
    d = details.get(int(row["rn"])) if row["in_a"] else None
    ident = Identity(d["code"], d["number"]) if d else Identity.from_key(row["key"])
    direction, other = _side(scope, row[f"{side}_seller_tax_id"], row[f"{side}_buyer_tax_id"])
    name = (d["buyer_name"] if direction == "issued" else d["seller_name"]) if d else ""
    return {
        "code": ident.code,
        "number": ident.number,
        "issue_date": row[f"{side}_issue_date"],
        "direction": direction,
        "counterparty_tax_id": other,
        "counterparty_name": name,
        "total": int(row[f"{side}_total"]),
        "authority_rn": int(row["rn"]) if row["in_a"] else None,
    }


def _classify(result: Result, auth: pa.Table, rows: list[Row]) -> None:
    """Each row of the statement into its findings: missing on one side, or one per comparison
    whose flag is set, and a duplicate when the list holds the invoice more than once."""
    scope, entries = result.scope, result.entries
    details = _authority_details(auth, [int(r["rn"]) for r in rows if r["in_a"]])
    for row in rows:
        if not row["in_a"]:
            common = _common(scope, row, "l", details)
            entries["missing_at_authority"].append(Entry("missing_at_authority", **common))
        elif not row["in_l"]:
            common = _common(scope, row, "a", details)
            entries["missing_in_ledger"].append(Entry("missing_in_ledger", **common))
        else:
            for comparison in COMPARISONS:
                if row[f"d_{comparison.category}"] and (own := comparison.entry(row)) is not None:
                    common = _common(scope, row, "l", details)
                    entries[comparison.category].append(Entry(comparison.category, **common, **own))
        if row["listed"] is not None:
            # the first listing's values: the row compared is the first listing
            common = _common(scope, row, "a", details)
            entries["duplicates_at_authority"].append(
                Entry("duplicates_at_authority", **common, count=int(row["listed"]))
            )
    for cat in CATEGORIES:
        entries[cat].sort(key=lambda e: (e.code, e.number))


def _fill_ledger_names(engine: Engine, scope: Scope, result: Result) -> None:
    """Counterparty names for findings about ledger invoices (the stream reads no names)."""
    wanted: dict[str, list[Entry]] = {}
    for e in result.all_entries():
        if not e.counterparty_name:
            wanted.setdefault(e.key, []).append(e)
    keys = list(wanted)
    if not keys:
        return
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            found = conn.execute(
                text(
                    "SELECT identity_key, direction, seller_name, buyer_name FROM invoices "
                    "WHERE tenant_id = :t AND identity_key IN :keys"
                ).bindparams(_expanding("keys")),
                {"t": scope.tenant_id, "keys": chunk},
            )
            for key, direction, sname, bname in found:
                for e in wanted.get(key, []):
                    e.counterparty_name = bname if direction == "issued" else sname


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)
