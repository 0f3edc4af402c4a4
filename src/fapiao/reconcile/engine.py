"""The diff engine: the ledger ⇄ the authority's list for one tenant and period, as set operations.

The same SQL runs in DuckDB over Arrow tables (the ledger streamed in, see `sources`) and in the
ledger's own PostgreSQL (the authority's list copied into a temporary table), so a shared ledger is
reconciled where it lives. Python only sorts the differing rows the SQL returns into categories.

An invoice is in scope when either side dates it inside the period, so one dated 30 June in the
ledger and 1 July by the authority is a date mismatch, not two missing invoices. Status is compared
as each side's effective status: a blue invoice that a red one reverses counts as `red` on that side
(the ledger keeps the blue row `normal` beside its red invoice; the platform marks it 已红冲).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Engine, text

from fapiao.model import AuthorityRecord, Identity
from fapiao.money import format_fen
from fapiao.reconcile.sources import (
    AUTHORITY_SCHEMA,
    AuthorityRows,
    Query,
    Scope,
    authority_table,
    ledger_key_queries,
    ledger_queries,
    ledger_red_originals,
    ledger_stream,
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
# (name in the report, ledger column, authority column, kind)
COMPARED = (
    ("issue_date", "issue_date", "date"),
    ("amount", "amount", "money"),
    ("tax", "tax", "money"),
    ("total", "total", "money"),
    ("seller.tax_id", "seller_tax_id", "text"),
    ("buyer.tax_id", "buyer_tax_id", "text"),
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
        if self.records is None or entry.authority_rn is None:
            return None
        return self.records[entry.authority_rn]

    def reds_of(self, key: str) -> list[AuthorityRecord]:
        """The authority's records that reverse the invoice `key` (red ones naming it)."""
        if not self.records:
            return []
        if isinstance(self.records, AuthorityRows):
            return self.records.reds_of(key)
        return [r for r in self.records if r.original and r.original.key == key]


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_period(column: str, scope: Scope) -> str:
    if scope.date_from is None or scope.date_to is None:
        return "1 = 1"
    return f"{column} BETWEEN DATE {lit(scope.date_from.isoformat())} AND DATE {lit(scope.date_to.isoformat())}"


def build_sql(
    scope: Scope, led: str, led_red: str, *, ledger_scope_as: str = "TABLE"
) -> dict[str, str]:
    """The statements, over relations `auth` (the list), `led` (the tenant's invoices) and `led_red`
    (original_key of the tenant's red invoices). Portable between DuckDB and PostgreSQL."""
    me = lit(scope.tax_id)
    a_in, l_in = _in_period("issue_date", scope), _in_period("l.issue_date", scope)
    if scope.date_from is None:  # everything is in scope
        a_scope, l_scope = "", ""
    else:
        a_scope = f"AND ({_in_period('a.issue_date', scope)} OR a.key IN (SELECT l.key FROM {led} l WHERE {l_in}))"
        l_scope = f"WHERE {l_in} OR l.key IN (SELECT key FROM rc_as WHERE {a_in})"
    differs = " OR ".join(f"l.{col} <> a.{col}" for _, col, _ in COMPARED)
    return {
        "auth_scope": f"""
CREATE TEMP TABLE rc_as AS
SELECT a.key, a.issue_date, a.amount, a.tax, a.total, a.seller_tax_id, a.buyer_tax_id, a.rn,
  CASE
    WHEN a.status = 'normal' AND (a.total < 0 OR a.platform_status LIKE '%红冲%'
      OR a.key IN (SELECT original_key FROM auth WHERE status = 'red' OR total < 0)) THEN 'red'
    WHEN a.status = 'normal' AND a.platform_status LIKE '%作废%' THEN 'void'
    ELSE a.status
  END AS est
FROM auth a
WHERE (a.seller_tax_id = {me} OR a.buyer_tax_id = {me})
  {a_scope}""",
        "ledger_scope": f"""
CREATE TEMP {ledger_scope_as} rc_ls AS
SELECT l.*,
  CASE
    WHEN l.status = 'normal' AND (l.total < 0 OR l.key IN (SELECT r.original_key FROM {led_red} r))
      THEN 'red'
    ELSE l.status
  END AS est
FROM {led} l
{l_scope}""",
        # keys the list holds more than once: few, so the rest is compared as it is
        "groups": "CREATE TEMP TABLE rc_g AS SELECT key, MIN(rn) AS rn1, COUNT(*) AS n "
        "FROM rc_as GROUP BY key HAVING COUNT(*) > 1",
        "diff": f"""
SELECT COALESCE(l.key, a.key), l.key IS NOT NULL, a.key IS NOT NULL,
  l.issue_date, a.issue_date, l.amount, a.amount, l.tax, a.tax, l.total, a.total,
  l.seller_tax_id, a.seller_tax_id, l.buyer_tax_id, a.buyer_tax_id, l.est, a.est, a.rn
FROM rc_ls l
FULL OUTER JOIN (
  SELECT * FROM rc_as WHERE key NOT IN (SELECT key FROM rc_g)
  UNION ALL SELECT x.* FROM rc_as x JOIN rc_g g ON x.rn = g.rn1
) a ON l.key = a.key
WHERE l.key IS NULL OR a.key IS NULL OR {differs} OR l.est <> a.est""",
        "counts": """
SELECT (SELECT COUNT(*) FROM rc_ls), (SELECT COUNT(*) FROM rc_as)""",
        "duplicates": """
SELECT g.key, g.n, a.issue_date, a.total, a.seller_tax_id, a.buyer_tax_id, a.rn
FROM rc_g g JOIN rc_as a ON a.rn = g.rn1""",
    }


TEMP_TABLES = ("rc_g", "rc_ls", "rc_as")


def reconcile(
    engine: Engine,
    scope: Scope,
    authority: list[AuthorityRecord] | AuthorityRows | pa.Table,
    *,
    backend: str = "auto",
) -> Result:
    """Compare; `backend` is `duckdb`, `database` (PostgreSQL only) or `auto` (the database when it
    is PostgreSQL, else DuckDB). The list: records, an export's rows, or a bare Arrow table."""
    records: list[AuthorityRecord] | AuthorityRows | None
    if isinstance(authority, pa.Table):
        records, table = None, authority
    elif isinstance(authority, AuthorityRows):
        records, table = authority, authority.table
    else:
        records = list(authority)
        table = authority_table(records)
    if backend == "auto":
        backend = "database" if engine.dialect.name == "postgresql" else "duckdb"
    if backend == "database":
        rows, counts, dups = _run_in_database(engine, scope, table)
    else:
        rows, counts, dups = _run_in_duckdb(engine, scope, table)
    result = Result(scope, *counts, records=records)
    _classify(result, table, rows, dups)
    # every ledger invoice in scope that the list lacks is a finding; the rest are matched
    result.matched = result.ledger_count - len(result.entries["missing_at_authority"])
    _fill_ledger_names(engine, scope, result)
    return result


LEDGER_DDL = (
    "CREATE TABLE led (key VARCHAR, issue_date DATE, amount BIGINT, tax BIGINT, total BIGINT, "
    "status VARCHAR, seller_tax_id VARCHAR, buyer_tax_id VARCHAR, red_of VARCHAR)"
)


def _load(con: duckdb.DuckDBPyConnection, engine: Engine, queries: list[Query]) -> None:
    """The queries' rows into DuckDB's own table, so the ledger is held once, not twice.

    Each query (a slice of the table) is read on a thread of its own through its own database
    connection, and DuckDB inserts straight from the driver's Arrow stream: no Python in between
    and the interpreter lock released, so the slices are read side by side."""

    def insert(part: list[Query]) -> None:
        cur = con.cursor()
        try:
            with ledger_stream(engine, part) as stream:
                cur.register("rc_stream", stream)
                cur.execute("INSERT INTO led SELECT * FROM rc_stream")
        finally:
            cur.close()

    if len(queries) == 1 or engine.dialect.name != "sqlite":
        insert(queries)
        return
    with ThreadPoolExecutor(len(queries), thread_name_prefix="fapiao-reconcile-load") as pool:
        for done in [pool.submit(insert, [q]) for q in queries]:
            done.result()


def _run_in_duckdb(
    engine: Engine, scope: Scope, auth: pa.Table
) -> tuple[list[tuple[Any, ...]], tuple[int, int], list[tuple[Any, ...]]]:
    spill = Path(tempfile.gettempdir()) / "fapiao-duckdb"
    con = duckdb.connect(config={"memory_limit": DUCKDB_MEMORY_LIMIT, "temp_directory": str(spill)})
    try:
        con.register("auth", auth)
        con.execute(LEDGER_DDL)
        _load(con, engine, ledger_queries(engine, scope, READERS))
        if scope.date_from is not None:
            # invoices the authority dates in the period but the ledger outside it
            outside = con.execute(
                f"SELECT DISTINCT key FROM auth WHERE ({_in_period('issue_date', scope)}) "
                f"AND (seller_tax_id = {lit(scope.tax_id)} OR buyer_tax_id = {lit(scope.tax_id)}) "
                "AND key NOT IN (SELECT key FROM led)"
            ).fetchall()
            if outside:
                _load(
                    con,
                    engine,
                    ledger_key_queries(engine, scope.tenant_id, [k for (k,) in outside]),
                )
        if scope.date_from is None:  # the whole ledger is loaded, its red invoices with it
            led_red = "(SELECT red_of AS original_key FROM led WHERE red_of <> '')"
        else:
            con.register("led_red", ledger_red_originals(engine, scope.tenant_id, scope.date_from))
            led_red = "led_red"
        # the ledger is already DuckDB's own table: its scope is a view, not a second copy
        sql = build_sql(scope, "led", led_red, ledger_scope_as="VIEW")
        for step in ("auth_scope", "ledger_scope", "groups"):
            con.execute(sql[step])
        rows = con.execute(sql["diff"]).fetchall()
        counts = con.execute(sql["counts"]).fetchone()
        dups = con.execute(sql["duplicates"]).fetchall()
    finally:
        con.close()
    assert counts is not None
    return rows, (int(counts[0]), int(counts[1])), dups


PG_TYPES = {
    pa.string(): "TEXT",
    pa.int64(): "BIGINT",
    pa.date32(): "DATE",
}


def _run_in_database(
    engine: Engine, scope: Scope, auth: pa.Table
) -> tuple[list[tuple[Any, ...]], tuple[int, int], list[tuple[Any, ...]]]:
    if engine.dialect.name != "postgresql":
        raise ValueError("the database backend needs PostgreSQL; use duckdb")
    tenant = int(scope.tenant_id)
    led = (
        "(SELECT identity_key AS key, issue_date, amount, tax, total, status, seller_tax_id, "
        f"buyer_tax_id FROM invoices WHERE tenant_id = {tenant})"
    )
    led_red = f"(SELECT original_key FROM invoices WHERE tenant_id = {tenant} AND status = 'red')"
    sql = build_sql(scope, led, led_red)
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
        for step in ("auth_scope", "ledger_scope", "groups"):
            conn.exec_driver_sql(sql[step].replace("%", "%%") + " ")
            conn.exec_driver_sql(f"ANALYZE {step_table(step)}")
        rows = [tuple(r) for r in conn.exec_driver_sql(sql["diff"])]
        counts = conn.exec_driver_sql(sql["counts"]).one()
        dups = [tuple(r) for r in conn.exec_driver_sql(sql["duplicates"])]
        for name in TEMP_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
    return rows, (int(counts[0]), int(counts[1])), dups


def step_table(step: str) -> str:
    return {"auth_scope": "rc_as", "ledger_scope": "rc_ls", "groups": "rc_g"}[step]


def _show(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "money":
        return format_fen(int(value))
    if kind == "date":
        return value.isoformat()
    return str(value)


def _side(scope: Scope, seller: str, buyer: str) -> tuple[str, str]:
    """(direction, counterparty tax ID) from the tenant's place on the invoice."""
    if seller == scope.tax_id:
        return "issued", buyer
    return "received", seller


def _authority_details(auth: pa.Table, rns: list[int]) -> dict[int, dict[str, Any]]:
    """code, number and names of the few authority rows that findings name, picked out in Arrow."""
    if not rns:
        return {}
    picked = auth.filter(pc.is_in(auth["rn"], value_set=pa.array(rns, pa.int64())))
    cols = picked.select(["rn", "code", "number", "seller_name", "buyer_name"]).to_pylist()
    return {int(row["rn"]): row for row in cols}


def _classify(
    result: Result, auth: pa.Table, rows: list[tuple[Any, ...]], dups: list[tuple[Any, ...]]
) -> None:
    scope = result.scope
    details = _authority_details(
        auth, [int(r[-1]) for r in rows if r[-1] is not None] + [int(d[-1]) for d in dups]
    )
    for row in rows:
        (key, in_l, in_a, l_date, a_date, l_amount, a_amount, l_tax, a_tax, l_total, a_total,
         l_seller, a_seller, l_buyer, a_buyer, l_est, a_est, a_rn) = row  # fmt: skip
        d = details.get(int(a_rn)) if in_a else None
        ident = Identity(d["code"], d["number"]) if d else Identity.from_key(key)
        day = l_date if in_l else a_date
        direction, other = _side(
            scope, l_seller if in_l else a_seller, l_buyer if in_l else a_buyer
        )
        name = (d["buyer_name"] if direction == "issued" else d["seller_name"]) if d else ""
        base = {
            "code": ident.code,
            "number": ident.number,
            "issue_date": day,
            "direction": direction,
            "counterparty_tax_id": other,
            "counterparty_name": name,
            "total": int(l_total if in_l else a_total),
            "authority_rn": int(a_rn) if in_a else None,
        }
        if not in_a:
            result.entries["missing_at_authority"].append(Entry("missing_at_authority", **base))
            continue
        if not in_l:
            result.entries["missing_in_ledger"].append(Entry("missing_in_ledger", **base))
            continue
        pairs = ((l_date, a_date), (l_amount, a_amount), (l_tax, a_tax), (l_total, a_total),
                 (l_seller, a_seller), (l_buyer, a_buyer))  # fmt: skip
        fields = {
            name_: {"ledger": _show(kind, mine), "authority": _show(kind, theirs)}
            for (name_, _col, kind), (mine, theirs) in zip(COMPARED, pairs, strict=True)
            if mine != theirs
        }
        if fields:
            result.entries["mismatched"].append(Entry("mismatched", fields=fields, **base))
        if l_est != a_est:
            result.entries["status_mismatch"].append(
                Entry("status_mismatch", ledger_status=l_est, authority_status=a_est, **base)
            )
    for key, n, day, total, seller, buyer, rn in dups:
        direction, other = _side(scope, seller, buyer)
        d = details.get(int(rn))
        ident = Identity(d["code"], d["number"]) if d else Identity.from_key(key)
        result.entries["duplicates_at_authority"].append(
            Entry(
                "duplicates_at_authority",
                code=ident.code,
                number=ident.number,
                issue_date=day,
                direction=direction,
                counterparty_tax_id=other,
                counterparty_name=(d["buyer_name"] if direction == "issued" else d["seller_name"])
                if d
                else "",
                total=int(total),
                count=int(n),
                authority_rn=int(rn),
            )
        )
    for cat in CATEGORIES:
        result.entries[cat].sort(key=lambda e: (e.code, e.number))


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
