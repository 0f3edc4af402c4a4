"""Keeping the full-text search index (migration 0004) up to date with new invoices.

New invoices are indexed here in bulk rather than by an insert trigger, so the import path does not
pay for the trigram index row by row. Ids are handed out in increasing order under the ledger lock,
so "every invoice above the mark" is exactly what is not yet indexed. Rows an update trigger indexed
above the mark are replaced, never doubled.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

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


def has_index(engine: Engine) -> bool:
    return inspect(engine).has_table("search_index_mark")


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
            conn.execute(
                text("DELETE FROM invoice_fts WHERE rowid > :mark AND rowid <= :top"), span
            )
            conn.execute(
                text(
                    f"INSERT INTO invoice_fts (rowid, text) SELECT id, {_SQLITE_TEXT} "
                    "FROM invoices WHERE id > :mark AND id <= :top"
                ),
                span,
            )
        done = conn.execute(
            text("SELECT count(*) FROM invoices WHERE id > :mark AND id <= :top"), span
        ).scalar_one()
        conn.execute(text("UPDATE search_index_mark SET last_id = :top WHERE id = 1"), span)
        return int(done)
