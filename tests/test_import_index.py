"""The search index keeps up with an import, so the import ends with every invoice indexed and the
catch-up after it finds nothing left. On PostgreSQL a thread brings the index up to each committed
batch while the import goes on (the trigram index is the server's work); on SQLite each batch
indexes its own invoices in its transaction, with exactly the text the catch-up would give them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from fapiao.ingest import after_import, import_paths
from fapiao.ledger import search_index
from tests.conftest import write_invoice


def indexed(ledger) -> int:
    table = "invoice_search" if ledger.engine.dialect.name == "postgresql" else "invoice_fts"
    with ledger.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_every_imported_invoice_is_indexed(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(7):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2)  # four batches
    assert len(summary.imported) == 7
    assert indexed(ledger) == 7
    after_import(ledger, summary.imported, "test", verify=False)
    assert indexed(ledger) == 7
    assert search_index.catch_up(ledger.engine) == 0  # nothing left behind


CATCH_UP_TEXT = search_index._SQLITE_TEXT.replace("invoices.doc", "i.doc")


# PostgreSQL's index is caught up by its thread, from the rows: these two are SQLite's alone
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@sqlite_only
def test_a_batch_indexes_the_text_the_catch_up_would(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(6):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    summary = import_paths(ledger, [tmp_path / "in"], batch_size=4)
    assert len(summary.imported) == 6
    with ledger.engine.connect() as conn:
        pairs = conn.execute(
            text(
                f"SELECT f.text, {CATCH_UP_TEXT} "
                "FROM invoice_fts f JOIN invoices i ON i.id = f.rowid"
            )
        ).all()
        mark, top = conn.execute(
            text("SELECT last_id, (SELECT max(id) FROM invoices) FROM search_index_mark")
        ).one()
    assert len(pairs) == 6
    assert all(mine == theirs and mine.strip() for mine, theirs in pairs)
    assert mark == top


@sqlite_only
def test_invoices_left_unindexed_below_a_batch_are_indexed_first(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(3):
        write_invoice(tmp_path / "a" / f"{n}.json", factory.invoice())
    import_paths(ledger, [tmp_path / "a"])
    with ledger.engine.begin() as conn:  # as if recorded by a path that does not index
        conn.execute(text("DELETE FROM invoice_fts"))
        conn.execute(text("UPDATE search_index_mark SET last_id = 0"))
    for n in range(2):
        write_invoice(tmp_path / "b" / f"{n}.json", factory.invoice())
    import_paths(ledger, [tmp_path / "b"])
    assert indexed(ledger) == 5
    assert search_index.catch_up(ledger.engine) == 0
