"""The one write path: every change to the ledger goes through `Ledger.write()`.

A write transaction takes the ledger lock (BEGIN IMMEDIATE on SQLite, SELECT … FOR UPDATE of the
head row on PostgreSQL), hands out ids and event sequence numbers, and appends each change as an
event whose hash covers the previous event's hash. The events are written in the same transaction as
the change they describe, so the log and the state cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from fapiao.codec import canonical_bytes, canonical_text_with
from fapiao.findings import Finding, finding
from fapiao.ledger import schema
from fapiao.ledger.db import WRITE, is_postgres
from fapiao.telemetry import logs as oplog
from fapiao.validate.tax_id import tax_id_problem

GENESIS = "0" * 64


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, fields: list[Any]) -> str:
    """sha256(prev_hash ‖ JSON [seq, ts, actor, tenant_id, action, entity, entity_id] ‖ LF ‖ payload).

    The payload, already canonical JSON, is hashed as stored rather than escaped again."""
    digest = hashlib.sha256(prev_hash.encode())
    digest.update(orjson.dumps(fields[:-1]))
    digest.update(b"\n")
    digest.update(fields[-1].encode())
    return digest.hexdigest()


INVOICE_STATE_COLUMNS = tuple(
    c.name for c in schema.invoices.columns if c.name not in ("created_at", "updated_at")
)


def row_hash(row: dict[str, Any], *, doc_hash: str | None = None) -> str:
    """Hash of an invoice row's state (every column but the timestamps, the doc by its own hash),
    recorded in each event that changes the row; `audit verify` compares it with the row.
    `doc_hash`: the doc's SHA-256 when the caller has it (the import: its `content_hash`)."""
    values = list(_state_values(row))
    values[_DOC] = doc_hash or hashlib.sha256(values[_DOC].encode()).hexdigest()
    if isinstance(values[_DATE], str):  # SQLite hands back the stored text when read raw
        values[_DATE] = dt.date.fromisoformat(values[_DATE])
    return hashlib.sha256(orjson.dumps(values)).hexdigest()


_state_values = itemgetter(*INVOICE_STATE_COLUMNS)
_DOC = INVOICE_STATE_COLUMNS.index("doc")
_DATE = INVOICE_STATE_COLUMNS.index("issue_date")

EVENT_COLUMNS = tuple(c.name for c in schema.events.columns)
LINE_COLUMNS = tuple(c.name for c in schema.line_items.columns if c.name != "invoice_id")
FINDING_COLUMNS = tuple(c.name for c in schema.invoice_findings.columns if c.name != "invoice_id")


def detail_hash(lines: list[dict[str, Any]], findings: list[dict[str, Any]]) -> str:
    """Hash of an invoice's line items and finding rows, recorded (`detail_hash`) in the event
    that writes them; `audit verify` compares it with the rows. Both in a fixed order (line number;
    findings have none, so sorted), so the order the database returns them in does not matter."""
    return detail_hash_values(
        [[row[c] for c in LINE_COLUMNS] for row in lines],
        [[row[c] for c in FINDING_COLUMNS] for row in findings],
    )


def detail_hash_values(lines: Sequence[Sequence[Any]], findings: Sequence[Sequence[Any]]) -> str:
    """`detail_hash` of rows given as values in LINE_COLUMNS / FINDING_COLUMNS order (lists or
    tuples: both are JSON arrays): the import's hot path builds no dict per row."""
    return hashlib.sha256(orjson.dumps([sorted(lines), sorted(findings)])).hexdigest()


def detail_hash_now(conn: Connection, invoice_id: int) -> str:
    """`detail_hash` of an invoice's rows as they stand: for an event that changes its findings
    after it was recorded (查验, counterpart matching), so `audit verify` holds."""
    li, fi = schema.line_items, schema.invoice_findings
    lines = conn.execute(select(li).where(li.c.invoice_id == invoice_id)).mappings().all()
    notes = conn.execute(select(fi).where(fi.c.invoice_id == invoice_id)).mappings().all()
    return detail_hash([dict(r) for r in lines], [dict(r) for r in notes])


COPY_FROM_ROWS = 50  # from this many rows, PostgreSQL inserts go through COPY

_PLAIN_TYPES = (String, Integer, LargeBinary, Date)  # Text and BigInteger are subclasses


def among(conn: Connection, column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    """`column IN values` for text values, as one parameter: the import looks up a batch's
    thousands of keys at once, and a list of that many placeholders cost more to build, parse and
    plan than to answer (on PostgreSQL a fifth of the import's wait on the server). PostgreSQL:
    `column = ANY(array)`; SQLite: the values as a JSON array, read by `json_each`."""
    name = f"among_{column.name}"
    if conn.dialect.name == "postgresql":
        # imported here: the dialect's module costs every command-line start 40 ms on SQLite
        from sqlalchemy.dialects.postgresql import ARRAY

        wanted = bindparam(name, list(values), type_=ARRAY(column.type), unique=True)
        return column == any_(wanted)
    if conn.dialect.name == "sqlite":
        listed = bindparam(name, orjson.dumps(list(values)).decode(), unique=True)
        return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
    return column.in_(values)


@cache
def _plain(table: Table) -> bool:
    """True when every column binds the same way through the driver as through SQLAlchemy."""
    return all(
        (isinstance(c.type, _PLAIN_TYPES) and not isinstance(c.type, DateTime | Boolean))
        or (isinstance(c.type, Float) and not c.type.asdecimal)  # the outbox's times
        for c in table.columns
    )


# the PostgreSQL type a column's values are sent as in a binary COPY: exactly the column's (the
# server takes the bytes as they come); the first class that matches, so BigInteger before Integer
_BINARY_TYPES = (
    (BigInteger, "int8"),
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (LargeBinary, "bytea"),
    (Date, "date"),
    (Float, "float8"),
)


def _binary_type(kind: Any) -> str:
    """String and Text travel as text (varchar and text alike)."""
    return next((name for cls, name in _BINARY_TYPES if isinstance(kind, cls)), "text")


def _iso_dates(values: tuple[Any, ...], positions: frozenset[int]) -> tuple[Any, ...]:
    out = list(values)
    for i in positions:
        if out[i] is not None:
            out[i] = out[i].isoformat()
    return tuple(out)


class WriteTx:
    """One open write transaction holding the ledger lock."""

    def __init__(self, conn: Connection, actor: str) -> None:
        self.conn = conn
        self.actor = actor
        self.now = utc_now()
        self._events: list[tuple[Any, ...]] = []  # rows of `events`, in EVENT_COLUMNS order
        head = conn.execute(
            select(schema.ledger_head).where(schema.ledger_head.c.id == 1).with_for_update()
            if is_postgres(conn.engine)
            else select(schema.ledger_head).where(schema.ledger_head.c.id == 1)
        ).one()
        self._seq: int = head.seq
        self._hash: str = head.hash
        self._next_id: int = head.next_id

    def new_ids(self, count: int) -> range:
        first = self._next_id
        self._next_id += count
        return range(first, first + count)

    def event(
        self,
        action: str,
        entity: str,
        entity_id: Any,
        payload: dict[str, Any],
        *,
        tenant_id: int | None = None,
        embedded: dict[str, str] | None = None,
    ) -> None:
        """Append one event; `embedded` adds payload keys whose canonical JSON text is at hand."""
        text = (
            canonical_text_with(payload, embedded)
            if embedded
            else canonical_bytes(payload).decode()
        )
        self.event_text(action, entity, entity_id, text, tenant_id=tenant_id)

    def event_text(
        self, action: str, entity: str, entity_id: Any, text: str, *, tenant_id: int | None = None
    ) -> None:
        """Append one event whose payload is given as its canonical JSON text (the import builds
        its events' text around the invoice's JSON, which it already holds)."""
        self._seq += 1
        fields = [self._seq, self.now, self.actor, tenant_id, action, entity, str(entity_id), text]
        digest = event_hash(self._hash, fields)
        self._events.append((*fields, self._hash, digest))  # in EVENT_COLUMNS order
        self._hash = digest

    def events(self) -> list[dict[str, Any]]:
        """The events this transaction appended so far, as rows."""
        return [dict(zip(EVENT_COLUMNS, event, strict=True)) for event in self._events]

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert rows (all with the keys of the first) straight through the driver's executemany:
        the import path writes tens of thousands of rows a second, and SQLAlchemy's per-row
        parameter processing would cost more than the database does."""
        if not rows:
            return
        if not _plain(table):
            self.conn.execute(insert(table), rows)
            return
        names = list(rows[0])
        if len(names) > 1:
            pick = itemgetter(*names)  # a tuple of the values, in C
            params = [pick(row) for row in rows]
        else:
            params = [(row[names[0]],) for row in rows]
        dates = self._date_positions(table, names)
        if dates:
            params = [_iso_dates(values, dates) for values in params]
        self.insert_values(table, names, params)

    def update_rows(self, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        """Update rows by id, each given as `_id` and the columns it sets: one executemany for
        each set of columns (a reconcile run closing 50,000 actions, an outbox round's entries),
        not a statement a row."""
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        for row in rows:
            groups.setdefault(frozenset(row) - {"_id"}, []).append(row)
        for columns, params in groups.items():
            values = {name: bindparam(name) for name in sorted(columns)}
            statement = update(table).where(table.c.id == bindparam("_id")).values(values)
            self.conn.execute(statement, params)

    def insert_values(
        self, table: Table, names: Sequence[str], params: list[tuple[Any, ...]]
    ) -> None:
        """Insert rows given as tuples of values in `names` order, ready for the driver (a
        plain table: `_plain`; dates as ISO text on SQLite)."""
        if not params:
            return
        if self.conn.dialect.name == "postgresql" and len(params) >= COPY_FROM_ROWS:
            self._copy(table, names, params)
            return
        quote = self.conn.dialect.identifier_preparer.quote
        mark = "?" if self.conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join([mark] * len(names))})"
        )
        self.conn.exec_driver_sql(sql, params)

    def _copy(self, table: Table, names: Sequence[str], params: list[tuple[Any, ...]]) -> None:
        """PostgreSQL's COPY: one round trip for a whole batch instead of one INSERT per row.

        In binary form, each value sent as its column's type: neither side turns numbers, dates
        and bytes into text and back (a 50,000-invoice import: the importer's CPU 3.4-3.6 s
        against 4.0 s). A value of another Python type than its column's (an int for a text
        column, which a text COPY takes) refuses the binary form; the batch is then sent as text,
        the savepoint undoing the attempt."""
        try:
            with self.conn.begin_nested():
                self._copy_as(table, names, params, binary=True)
        except (TypeError, ValueError, OverflowError):
            self._copy_as(table, names, params, binary=False)

    def _copy_as(
        self, table: Table, names: Sequence[str], params: list[tuple[Any, ...]], *, binary: bool
    ) -> None:
        quote = self.conn.dialect.identifier_preparer.quote
        columns = ", ".join(quote(n) for n in names)
        form = " (FORMAT BINARY)" if binary else ""
        driver = self.conn.connection.dbapi_connection
        assert driver is not None
        with (
            driver.cursor() as cur,
            cur.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN{form}") as copy,
        ):
            if binary:
                copy.set_types([_binary_type(table.c[n].type) for n in names])
            for values in params:
                copy.write_row(values)

    def _date_positions(self, table: Table, names: list[str]) -> frozenset[int]:
        """SQLite keeps dates as ISO text (as SQLAlchemy's Date does); PostgreSQL takes date objects."""
        if self.conn.dialect.name != "sqlite":
            return frozenset()
        return frozenset(i for i, n in enumerate(names) if isinstance(table.c[n].type, Date))

    def _finish(self) -> None:
        self.insert_values(schema.events, EVENT_COLUMNS, self._events)
        self.conn.execute(
            update(schema.ledger_head)
            .where(schema.ledger_head.c.id == 1)
            .values(seq=self._seq, hash=self._hash, next_id=self._next_id)
        )


class Ledger:
    """A ledger database. Reads go straight to the engine; writes go through `write()`."""

    def __init__(
        self,
        engine: Engine,
        *,
        actor: str = "cli",
        before_write: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.actor = actor
        # called once, before the first write: the edges refuse a write nobody can answer for
        self.before_write = before_write

    @contextmanager
    def write(self, on: Connection | None = None) -> Iterator[WriteTx]:
        """One write transaction, on a connection of its own or `on` one from `writer()`."""
        if self.before_write is not None:
            check, self.before_write = self.before_write, None
            check()
        with (
            oplog.write_logged(self.actor) as log,
            self._connection(on) as conn,
            conn.begin(),
        ):
            tx = WriteTx(conn, self.actor)
            yield tx
            tx._finish()
            if oplog.enabled():  # the operation log: who, tenants, what, duration, outcome
                log.events = tx.events()

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """A connection held for a run of write transactions (`write(on=…)`): on SQLite, what one
        transaction read stays in its page cache for the next."""
        with self.engine.connect().execution_options(**{WRITE: True}) as conn:
            yield conn

    @contextmanager
    def _connection(self, held: Connection | None) -> Iterator[Connection]:
        if held is not None:
            yield held
            return
        with self.writer() as conn:
            yield conn

    def refresh_statistics(self) -> None:
        """PostgreSQL plans the import's lookups from table statistics; while a bulk import grows
        the tables they go stale, and a lookup of a thousand keys turns into a full scan per batch.
        (SQLite's planner needs no statistics for these lookups.)"""
        if not is_postgres(self.engine):
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE invoices, blobs")
            conn.commit()

    # --- tenants -----------------------------------------------------------------------------

    def add_tenant(self, *, tax_id: str, name: str) -> tuple[int | None, list[Finding]]:
        tax_id = tax_id.strip().upper()
        problem = tax_id_problem(tax_id) if tax_id else ("缺失", "missing")
        if problem:
            return None, [
                finding(
                    "tax_id_invalid",
                    "tax_id",
                    value=tax_id,
                    detail=problem[0],
                    detail_en=problem[1],
                )
            ]
        if not name.strip():
            return None, [finding("field_missing", "name")]
        existing = self.tenants().get(tax_id)
        if existing is not None:
            return existing, []
        with self.write() as tx:
            (tenant_id,) = tx.new_ids(1)
            row = {"id": tenant_id, "tax_id": tax_id, "name": name.strip(), "created_at": tx.now}
            tx.insert(schema.tenants, [row])
            tx.event("tenant.added", "tenant", tenant_id, row, tenant_id=tenant_id)
        return tenant_id, []

    def tenants(self) -> dict[str, int]:
        """tax_id -> tenant id."""
        with self.engine.connect() as conn:
            return {r.tax_id: r.id for r in conn.execute(select(schema.tenants))}

    def tenant_rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(schema.tenants).order_by(schema.tenants.c.id))
            return [dict(r._mapping) for r in rows]
