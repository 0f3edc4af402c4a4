"""The search index keeps up with an import: a thread brings it up to each committed batch while
the import goes on (on PostgreSQL the trigram index is the server's work; on SQLite the thread and
the importer take turns on the write lock), so the import ends with every invoice indexed and the
catch-up after it finds nothing left. Every imported invoice is found by its text afterwards."""

from __future__ import annotations

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
