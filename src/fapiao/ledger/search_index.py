"""Keeping the full-text search index (migration 0004) up to date with new invoices.

New invoices are indexed here in bulk rather than by an insert trigger, so the import path does not
pay for the trigram index row by row. Ids are handed out in increasing order under the ledger lock,
so "every invoice above the mark" is exactly what is not yet indexed. Rows an update trigger indexed
above the mark are replaced, never doubled.

On SQLite an import indexes its own invoices in the transaction that records them (`index_new`),
from the text it already holds: a separate catch-up would read every new invoice back, take the
one write lock again and commit again, which cost a sixth of an import's time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, inspect, text

from fapiao.ledger.db import WRITE

_SQLITE_TEXT = (
    "code || ' ' || number || ' ' || seller_name || ' ' || seller_tax_id || ' ' || "
    "buyer_name || ' ' || buyer_tax_id || ' ' || coalesce((SELECT group_concat("
    "json_extract(value, '$.name'), ' ') FROM json_each(invoices.doc, '$.items')), '')"
)
_PG_TEXT = (
    "code || ' ' || number || ' ' || seller_name || ' ' || seller_tax_id || ' ' || "
    "buyer_name || ' ' || buyer_tax_id || ' ' || coalesce((SELECT string_agg("
    "x->>'name', ' ') FROM jsonb_array_elements((invoices.doc)::jsonb->'items') x), '')"
)


def search_text(row: dict[str, Any], item_names: Iterable[str]) -> str:
    """An invoice's indexed text, as `_SQLITE_TEXT` makes it from the row and its `doc`."""
    head = [row[c] for c in ("code", "number", "seller_name", "seller_tax_id")]
    return " ".join([*head, row["buyer_name"], row["buyer_tax_id"], " ".join(item_names)])


def index_new(conn: Connection, texts: Sequence[tuple[int, str]]) -> None:
    """Index invoices just recorded in `conn`'s transaction (SQLite; (id, search_text) pairs in
    increasing id order, the highest ids in the ledger) and move the mark past them. Invoices
    recorded earlier and not yet indexed are indexed first, so the mark still means "all below"."""
    if not texts or conn.dialect.name != "sqlite" or not has_index(conn):
        return
    first, last = texts[0][0], texts[-1][0]
    mark = conn.execute(text("SELECT last_id FROM search_index_mark WHERE id = 1")).scalar_one()
    if mark < first - 1:
        _index_span(conn, {"mark": mark, "top": first - 1})
    conn.execute(  # one statement: FTS5 writes its pending terms once, not once a row
        text(
            "INSERT INTO invoice_fts (rowid, text) SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(:pairs)"
        ),
        # orjson: a batch's pairs in half the time; the texts are the invoice's own fields, which
        # its canonical JSON (orjson) already held, so nothing here can refuse them
        {"pairs": orjson.dumps(texts).decode()},
    )
    conn.execute(text("UPDATE search_index_mark SET last_id = :top WHERE id = 1"), {"top": last})


def has_index(bind: Engine | Connection) -> bool:
    return inspect(bind).has_table("search_index_mark")


def catch_up(engine: Engine, *, limit: int | None = None) -> int:
    """Index invoices recorded since the last call (at most `limit`); returns how many."""
    if not has_index(engine):
        return 0
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        pg = conn.dialect.name == "postgresql"
        lock = " FOR UPDATE" if pg else ""
        mark = conn.execute(
            text(f"SELECT last_id FROM search_index_mark WHERE id = 1{lock}")
        ).scalar_one()
        bound = "" if limit is None else f" ORDER BY id LIMIT {int(limit)}"
        top = conn.execute(
            text(f"SELECT max(id) FROM (SELECT id FROM invoices WHERE id > :mark{bound}) AS t"),
            {"mark": mark},
        ).scalar()
        if top is None:
            return 0
        span = {"mark": mark, "top": top}
        if pg:
            conn.execute(
                text(
                    f"INSERT INTO invoice_search (invoice_id, text) SELECT id, {_PG_TEXT} "
                    "FROM invoices WHERE id > :mark AND id <= :top "
                    "ON CONFLICT (invoice_id) DO UPDATE SET text = EXCLUDED.text"
                ),
                span,
            )
        else:
            _index_span(conn, span)
        done = conn.execute(
            text("SELECT count(*) FROM invoices WHERE id > :mark AND id <= :top"), span
        ).scalar_one()
        conn.execute(text("UPDATE search_index_mark SET last_id = :top WHERE id = 1"), span)
        return int(done)


def _index_span(conn: Connection, span: dict[str, int]) -> None:
    """SQLite: (re)index the invoices with ids in (mark, top] from their rows."""
    conn.execute(text("DELETE FROM invoice_fts WHERE rowid > :mark AND rowid <= :top"), span)
    conn.execute(
        text(
            f"INSERT INTO invoice_fts (rowid, text) SELECT id, {_SQLITE_TEXT} "
            "FROM invoices WHERE id > :mark AND id <= :top"
        ),
        span,
    )
