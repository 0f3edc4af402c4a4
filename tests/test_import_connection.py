"""An import writes all its batches on one connection it holds for the run; on SQLite a long run
(`ingest.LONG_RUN_FROM` inputs) raises that connection's page cache to `db.IMPORT_CACHE_MIB`, and
gives it back when the run ends. A short run keeps the usual cache: its memory stays one batch and
a file, however large the files."""

from __future__ import annotations

from sqlalchemy import event, func, select

from fapiao import ingest
from fapiao.ingest import import_paths
from fapiao.ledger import schema
from fapiao.ledger.db import CACHE_MIB, IMPORT_CACHE_MIB, page_cache
from tests.conftest import write_invoice


def cache_kib(driver) -> int:
    return -driver.execute("PRAGMA cache_size").fetchone()[0]


def test_a_page_cache_is_raised_for_a_block_of_transactions_and_given_back(sqlite_ledger):
    ledger = sqlite_ledger
    with ledger.writer() as conn:
        driver = conn.connection.dbapi_connection
        assert cache_kib(driver) == CACHE_MIB * 1024
        with page_cache(conn, 200):
            assert cache_kib(driver) == 200 * 1024
            for _ in range(2):  # transactions one after another on the held connection
                with ledger.write(conn) as tx:
                    tx.event("test.held", "test", 1, {})
        assert cache_kib(driver) == CACHE_MIB * 1024


def imported_on(ledger, factory, tmp_path, monkeypatch, *, long_from: int):
    """Imports nine invoices in batches of two (a run long from `long_from` inputs); returns the
    driver's connection and its page cache in KiB at each insert of invoices."""
    monkeypatch.setattr(ingest, "LONG_RUN_FROM", long_from)
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(9):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    wrote = []
    sqlite = ledger.engine.dialect.name == "sqlite"

    @event.listens_for(ledger.engine, "before_cursor_execute")
    def seen(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO invoices "):
            driver = conn.connection.dbapi_connection
            wrote.append((driver, cache_kib(driver) if sqlite else None))

    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    event.remove(ledger.engine, "before_cursor_execute", seen)
    assert summary.counts["imported"] == 9
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.invoices)) == 9
    assert len(wrote) == 5  # batches of two
    assert len({id(driver) for driver, _ in wrote}) == 1
    return wrote


def test_an_import_writes_every_batch_on_one_connection(ledger, factory, tmp_path, monkeypatch):
    wrote = imported_on(ledger, factory, tmp_path, monkeypatch, long_from=50_000)
    if ledger.engine.dialect.name == "sqlite":
        assert {kib for _, kib in wrote} == {CACHE_MIB * 1024}


def test_a_long_run_raises_its_page_cache_and_gives_it_back(
    sqlite_ledger, factory, tmp_path, monkeypatch
):
    wrote = imported_on(sqlite_ledger, factory, tmp_path, monkeypatch, long_from=4)
    # the second batch holds the fourth input: from it on, the larger cache
    assert [kib for _, kib in wrote] == [CACHE_MIB * 1024] + [IMPORT_CACHE_MIB * 1024] * 4
    assert cache_kib(wrote[-1][0]) == CACHE_MIB * 1024
