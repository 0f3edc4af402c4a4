"""The ledger's write path and the capabilities that take part in it through hooks.

The ledger imports neither the outbox nor the 补开 code: `sync` and `contingency` subscribe to
`invoices_recorded` from their plugin.py. Every subscriber writes in the import's transaction, so
an invoice is never recorded without its outbox entry: a subscriber that fails, or an outbox that
cannot be written, rolls the whole batch back. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from fapiao import plugins
from fapiao.hooks import hookimpl
from fapiao.ingest import import_paths
from fapiao.ledger import audit, schema
from fapiao.sync.tables import sync_outbox
from tests.conftest import write_invoice


def counts(ledger) -> dict[str, Any]:
    with ledger.engine.connect() as conn:
        return {
            "invoices": conn.scalar(select(func.count()).select_from(schema.invoices)),
            "outbox": conn.scalar(select(func.count()).select_from(sync_outbox)),
            "events": conn.scalar(select(func.count()).select_from(schema.events)),
            "head": tuple(conn.execute(select(schema.ledger_head)).one()),
        }


@pytest.fixture
def subscribe() -> Iterator[Any]:
    """Register plugins for one test; they are gone afterwards."""
    added: list[object] = []

    def add(plugin: object) -> None:
        plugins.manager().register(plugin)
        added.append(plugin)

    yield add
    for plugin in added:
        plugins.manager().unregister(plugin)


class Watcher:
    """Subscribes last and looks, on the transaction it is given, for what the others wrote."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.seen: list[dict[str, Any]] = []

    @hookimpl(trylast=True)
    def invoices_recorded(self, tx: Any, rows: list[dict[str, Any]], actor: str) -> None:
        ids = [r["id"] for r in rows]
        queued = tx.conn.scalar(
            select(func.count()).select_from(sync_outbox).where(sync_outbox.c.invoice_id.in_(ids))
        )
        self.seen.append({"rows": len(rows), "queued": queued, "actor": actor})
        if self.fail:
            raise RuntimeError("a subscriber refuses")


def two_invoices(tmp_path, ledger, factory):
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    write_invoice(tmp_path / "in" / "a.json", factory.invoice(issued=True))
    write_invoice(tmp_path / "in" / "b.json", factory.invoice(issued=False))
    return tmp_path / "in"


def test_the_outbox_entry_is_written_in_the_invoices_transaction(
    ledger, factory, tmp_path, subscribe
):
    folder = two_invoices(tmp_path, ledger, factory)
    watcher = Watcher()
    subscribe(watcher)
    summary = import_paths(ledger, [folder])
    assert len(summary.imported) == 2
    # inside the transaction, after the sync plugin ran: both entries already there
    assert watcher.seen == [{"rows": 2, "queued": 2, "actor": "test"}]
    after = counts(ledger)
    assert (after["invoices"], after["outbox"]) == (2, 2)
    with ledger.engine.connect() as conn:
        states = set(conn.scalars(select(schema.invoices.c.authority_state)))
        written = list(conn.execute(select(schema.events.c.action, schema.events.c.ts)))
    assert states == {"queued"}  # decided by the sync plugin before the row was hashed
    in_import = [(a, ts) for a, ts in written if a in ("invoice.imported", "outbox.enqueued")]
    assert [a for a, _ in in_import] == ["invoice.imported"] * 2 + ["outbox.enqueued"]
    assert len({ts for _, ts in in_import}) == 1  # one write transaction
    assert audit.verify(ledger.engine).ok


def test_a_subscriber_that_fails_rolls_the_import_back(ledger, factory, tmp_path, subscribe):
    folder = two_invoices(tmp_path, ledger, factory)
    before = counts(ledger)
    watcher = Watcher(fail=True)
    subscribe(watcher)
    with pytest.raises(RuntimeError, match="refuses"):
        import_paths(ledger, [folder])
    assert watcher.seen == [{"rows": 2, "queued": 2, "actor": "test"}]  # written, then undone
    assert counts(ledger) == before  # no invoice, no outbox entry, no event, the head unmoved
    watcher.fail = False
    assert len(import_paths(ledger, [folder]).imported) == 2
    after = counts(ledger)
    assert (after["invoices"], after["outbox"]) == (2, 2)
    assert audit.verify(ledger.engine).ok


def test_an_outbox_that_cannot_be_written_records_no_invoice(ledger, factory, tmp_path):
    folder = two_invoices(tmp_path, ledger, factory)
    before = counts(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(text("ALTER TABLE sync_outbox RENAME TO sync_outbox_away"))
    with pytest.raises(Exception, match="sync_outbox"):
        import_paths(ledger, [folder])
    with ledger.engine.begin() as conn:
        conn.execute(text("ALTER TABLE sync_outbox_away RENAME TO sync_outbox"))
    assert counts(ledger) == before


def test_without_the_sync_plugin_invoices_stay_local(ledger, factory, tmp_path):
    """The ledger does not know the outbox: unplugged, the import records invoices alone."""
    folder = two_invoices(tmp_path, ledger, factory)
    manager = plugins.manager()
    module = manager.unregister(name="fapiao.sync.plugin")
    try:
        assert len(import_paths(ledger, [folder]).imported) == 2
    finally:
        manager.register(module, name="fapiao.sync.plugin")
    with ledger.engine.connect() as conn:
        states = set(conn.scalars(select(schema.invoices.c.authority_state)))
    assert states == {"local"}
    assert counts(ledger)["outbox"] == 0
    assert audit.verify(ledger.engine).ok
