"""An import writes all its batches on one connection it holds for the run, with a larger page
cache on SQLite (`db.IMPORT_CACHE_MIB`), given back when the run ends."""

from __future__ import annotations

from sqlalchemy import event, func, select

from fapiao.ingest import import_paths
from fapiao.ledger import schema
from fapiao.ledger.db import CACHE_MIB, IMPORT_CACHE_MIB
from tests.conftest import write_invoice


def cache_kib(driver) -> int:
    return -driver.execute("PRAGMA cache_size").fetchone()[0]


def test_a_held_writer_has_the_cache_asked_for_and_gives_it_back(ledger):
    if ledger.engine.dialect.name != "sqlite":
        return  # PostgreSQL's cache is the server's
    with ledger.writer(cache_mib=200) as conn:
        driver = conn.connection.dbapi_connection
        assert cache_kib(driver) == 200 * 1024
        for _ in range(2):  # transactions one after another on the held connection
            with ledger.write(conn) as tx:
                tx.event("test.held", "test", 1, {})
    assert cache_kib(driver) == CACHE_MIB * 1024


def test_an_import_writes_every_batch_on_one_connection(ledger, factory, tmp_path):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(7):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    wrote = []  # (the driver's connection, its page cache) at each insert of invoices

    @event.listens_for(ledger.engine, "before_cursor_execute")
    def seen(conn, cursor, statement, *_):
        if statement.startswith("INSERT INTO invoices "):
            driver = conn.connection.dbapi_connection
            sqlite = conn.dialect.name == "sqlite"
            wrote.append((id(driver), cache_kib(driver) if sqlite else None))

    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    event.remove(ledger.engine, "before_cursor_execute", seen)
    assert summary.counts["imported"] == 7
    with ledger.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(schema.invoices)) == 7
    assert len(wrote) >= 4  # four batches of at most two
    assert len({driver for driver, _ in wrote}) == 1
    if ledger.engine.dialect.name == "sqlite":
        assert {kib for _, kib in wrote} == {IMPORT_CACHE_MIB * 1024}
