"""Each table is declared once, on `fapiao.tables.metadata`, and the migrations build exactly that:
a fresh SQLite file and a fresh PostgreSQL schema, upgraded, compared with the declarations by
Alembic's autogenerate. A difference means a migration or a declaration is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fapiao import tables
from fapiao.ledger.db import open_engine

# The search index is the one structure kept out of the declarations: derived data, written in
# each database's own SQL by migration 0004 (an FTS5 virtual table and its shadow tables on SQLite,
# a pg_trgm-indexed table on PostgreSQL) and rebuilt by `search_index.catch_up`, so backups leave it
# out. The number-tail index (0004a) is an expression that differs per database.
SEARCH_INDEX_TABLES = {"invoice_search", "search_index_mark", "alembic_version"}
EXPRESSION_INDEXES = {"ix_invoices_number_tail"}


def _declared_or_compared(obj: Any, name: str | None, type_: str, reflected: bool, _: Any) -> bool:
    if type_ == "table":
        return not (name in SEARCH_INDEX_TABLES or (name or "").startswith("invoice_fts"))
    if type_ == "index":
        return name not in EXPRESSION_INDEXES
    return True


# SQLite's reflection skips the expression index, with a warning
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_build_exactly_the_declared_tables(empty_db_url: str) -> None:
    engine = open_engine(empty_db_url)  # upgrades the fresh database to the newest migrations
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn,
                opts={"compare_type": True, "include_object": _declared_or_compared},
            )
            differences = compare_metadata(context, tables.metadata)
    finally:
        engine.dispose()
    assert differences == []
    assert {"invoices", "sync_outbox", "users", "verifications"} <= set(tables.metadata.tables)


def test_head_revisions_read_from_the_files_are_alembics_heads() -> None:
    """Every start reads the heads from the revision files' own lines (fast); Alembic, loading
    the scripts, must find the same, or a start would migrate too little or refuse a good ledger."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    from fapiao.ledger.db import _alembic_config, head_revisions

    script = ScriptDirectory.from_config(_alembic_config(create_engine("sqlite://")))
    assert head_revisions() == set(script.get_heads())
    assert len(head_revisions()) > 1  # capabilities branch from 0001: several heads, each named
