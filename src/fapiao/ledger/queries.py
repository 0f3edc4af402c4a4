"""Reading the ledger: invoice listings (a page, or every match streamed, in light rows or as
canonical JSON), one invoice in full, original files, counts.

Every listing takes a `ledger.listing.Listing` and the reader's tenant scope (None: all, as in the
CLI); `ledger.listing_sql` writes its statement. The search index (migration 0004) is an FTS5
trigram table on SQLite, a pg_trgm-indexed side table on PostgreSQL; invoices recorded since the
last search enter it (`search_index.catch_up`) before a search runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import DBAPIError

from fapiao.ledger import listing_sql, listing_states, reads, schema, search_index
from fapiao.ledger.listing import DOC_COLUMNS, Listing, decode_cursor, encode_cursor
from fapiao.ledger.listing import period_bounds as period_bounds  # its readers import it here
from fapiao.money import format_fen

inv = schema.invoices

CATCH_UP_PER_SEARCH = 20_000  # a search indexes at most this many new invoices before it runs
BEHIND = (
    "SELECT (SELECT max(id) FROM invoices) > (SELECT last_id FROM search_index_mark WHERE id = 1)"
)


def index_behind(engine: Engine) -> bool:
    """Whether invoices were recorded since the search index last caught up."""
    try:
        return bool(reads.fetch(engine, BEHIND, {})[0][0])
    except (DBAPIError, sqlite3.Error):  # no index table (an old schema): catch_up knows
        return True


def _index_recent(engine: Engine, q: Listing) -> None:
    """Invoices recorded by another process since the last search become searchable first. A read
    (two index lookups) decides; only then does the indexing take the write lock."""
    if q.q and index_behind(engine):
        search_index.catch_up(engine, limit=CATCH_UP_PER_SEARCH)


def _statement(
    engine: Engine,
    q: Listing,
    tenants: frozenset[int] | None,
    rows: int | None,
    by_number: bool | None = None,
    columns: tuple[str, ...] = listing_sql.COLUMNS,
) -> listing_sql.Statement:
    """The statement for `q`; for a search that looks like an invoice number, `by_number` says
    whether the number index answers (None: probe for it)."""
    dialect = engine.dialect.name
    date = (lambda d: d) if dialect == "postgresql" else dt.date.isoformat
    driven = (
        listing_states.few(lambda sql: int(reads.fetch(engine, sql, {})[0][0]), q.states)
        if q.states
        else frozenset()
    )
    if not listing_sql.number_term(q.q):
        by_number = False
    elif by_number is None:
        # an invoice number (or its tail): the number index answers when any number ends so;
        # otherwise (a tax ID, digits inside a number) the full-text index does
        probe = listing_sql.number_probe(q, tenants, dialect=dialect, date=date, driven=driven)
        by_number = bool(reads.fetch(engine, probe.sql, probe.params))
    return listing_sql.listing(
        q,
        tenants,
        dialect=dialect,
        date=date,
        after=decode_cursor(q.after, q) if q.after else None,
        rows=rows,
        by_number=by_number,
        columns=columns,
        driven=driven,
    )


def page(
    engine: Engine, q: Listing, tenants: frozenset[int] | None, *, index_checked: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of matching invoices (light rows) and the cursor of the next page (None: last).
    `index_checked`: the caller has just seen the search index up to date."""
    if not index_checked:
        _index_recent(engine, q)
    found: list[Any] = []
    first = q.after is None and not q.offset
    if first and listing_sql.number_term(q.q):
        # the first page of a number search: its rows answer the probe's question too
        stmt = _statement(engine, q, tenants, q.limit + 1, by_number=True)
        found = reads.fetch(engine, stmt.sql, stmt.params)
        if not found:
            stmt = _statement(engine, q, tenants, q.limit + 1, by_number=False)
            found = reads.fetch(engine, stmt.sql, stmt.params)
    else:
        stmt = _statement(engine, q, tenants, q.limit + 1)
        found = reads.fetch(engine, stmt.sql, stmt.params)
    more = len(found) > q.limit
    found = found[: q.limit]
    shown = listing_states.chosen(q.include)
    return [public_row(r, shown) for r in found], encode_cursor(q, found[-1]) if more else None


def stream(
    engine: Engine, q: Listing, tenants: frozenset[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching invoice (light rows, for exports and printed lists), in the query's order,
    without paging."""
    _index_recent(engine, q)
    stmt = _statement(engine, q, tenants, None)
    shown = listing_states.chosen(q.include)
    with reads.streamed(engine, stmt.sql, stmt.params) as rows:
        for row in rows:
            yield public_row(row, shown)


def list_invoices(
    engine: Engine, q: Listing, tenants: frozenset[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching invoice as canonical JSON plus id, direction, source, authority_state, in
    the query's order, streamed (no limit)."""
    _index_recent(engine, q)
    stmt = _statement(engine, q, tenants, None, columns=DOC_COLUMNS)
    shown = listing_states.chosen(q.include)
    with reads.streamed(engine, stmt.sql, stmt.params) as rows:
        for row in rows:
            yield _public_doc(row, shown)


def _public_doc(row: tuple[Any, ...], shown: tuple[Any, ...] = ()) -> dict[str, Any]:
    id_, _tenant, direction, source, authority_state, doc = row[: len(DOC_COLUMNS)]
    out = json.loads(doc)
    out.update(id=str(id_), direction=direction, source=source, authority_state=authority_state)
    if shown:
        out.update(listing_states.shape(shown, row[len(DOC_COLUMNS) :]))
    return out


LIGHT = len(listing_sql.COLUMNS)


def public_row(r: tuple[Any, ...], shown: tuple[Any, ...] = ()) -> dict[str, Any]:
    """A listing row (columns in `listing.COLUMNS` order, then the states `shown`) in the API's
    shape."""
    day = r[6]
    out = {
        "id": str(r[0]),
        "tenant_id": r[1],
        "direction": r[2],
        "kind": r[3],
        "code": r[4],
        "number": r[5],
        "issue_date": day if isinstance(day, str) else day.isoformat(),
        "seller": {"name": r[7], "tax_id": r[8]},
        "buyer": {"name": r[9], "tax_id": r[10]},
        "amount": format_fen(r[11]),
        "tax": format_fen(r[12]),
        "total": format_fen(r[13]),
        "status": r[14],
        "authority_state": r[15],
        "source": r[16],
    }
    if shown:
        out.update(listing_states.shape(shown, r[LIGHT:]))
    return out


def _public(row: Any) -> dict[str, Any]:
    doc = json.loads(row.doc)
    doc.update(
        id=str(row.id),
        direction=row.direction,
        source=row.source,
        authority_state=row.authority_state,
    )
    return doc


def find_invoice(engine: Engine, ref: str) -> dict[str, Any] | None:
    """By id, number, or code-number; with findings, conflicts, original file and events."""
    with engine.connect() as conn:
        cond = inv.c.identity_key == ref
        if ref.isdigit() and len(ref) < 16:
            cond = or_(inv.c.id == int(ref), cond)
        row = conn.execute(select(inv).where(cond).order_by(inv.c.id).limit(1)).first()
        if row is None:
            return None
        out = _public(row)
        out["tenant_id"] = row.tenant_id
        out["original_file"] = {"name": row.original_name, "sha256": row.original_sha256}
        f_t = schema.invoice_findings
        out["findings"] = [
            {k: r._mapping[k] for k in ("code", "field", "severity", "message", "message_en")}
            for r in conn.execute(select(f_t).where(f_t.c.invoice_id == row.id))
        ]
        c_t = schema.conflicts
        out["conflicts"] = [
            {"file": r.file_name, "fields": json.loads(r.fields), "at": r.created_at}
            for r in conn.execute(select(c_t).where(c_t.c.invoice_id == row.id))
        ]
        ev = schema.events
        out["events"] = [
            {"seq": r.seq, "at": r.ts, "actor": r.actor, "action": r.action}
            for r in conn.execute(
                select(ev.c.seq, ev.c.ts, ev.c.actor, ev.c.action)
                .where(ev.c.entity == "invoice", ev.c.entity_id == str(row.id))
                .order_by(ev.c.seq)
            )
        ]
        return out


def original_bytes(engine: Engine, sha256: str) -> bytes | None:
    with engine.connect() as conn:
        return conn.scalar(select(schema.blobs.c.data).where(schema.blobs.c.sha256 == sha256))


def counts(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func

    with engine.connect() as conn:
        out = {}
        for name, table in (
            ("invoices", inv),
            ("quarantine", schema.quarantine),
            ("conflicts", schema.conflicts),
            ("events", schema.events),
            ("tenants", schema.tenants),
        ):
            out[name] = conn.scalar(select(func.count()).select_from(table)) or 0
        return out
