"""SQLite: while an import writes, its write-ahead log is copied into the database by a thread of
the import's own (`db.WalCheckpointer`), not by the commit that fills it; the log still stays
near CHECKPOINT_BYTES, the writer's own setting is given back after the import, and the thread
ends with it, even when the import fails."""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlalchemy import event

from fapiao import ingest
from fapiao.ingest import import_paths
from fapiao.ledger import db
from fapiao.ledger.db import CHECKPOINT_BYTES, PAGE_SIZE, WRITE
from tests.conftest import write_invoice


def autocheckpoint(driver) -> int:
    return driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]


@pytest.mark.parametrize("slow", [False, True], ids=["thread", "slow-thread"])
def test_the_log_is_copied_aside_and_stays_short(
    sqlite_ledger, factory, tmp_path, monkeypatch, slow
):
    ledger = sqlite_ledger
    if slow:  # each copy takes longer than a batch's writing: the log stays short all the same
        copy = db.WalCheckpointer._copy

        def slow_copy(driver):
            time.sleep(0.05)
            return copy(driver)

        monkeypatch.setattr(db.WalCheckpointer, "_copy", staticmethod(slow_copy))
    monkeypatch.setattr(db, "CHECKPOINT_BYTES", 64 * 1024)  # two pages: every batch passes it
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(60):
        write_invoice(tmp_path / "in" / f"{n:02}.json", factory.invoice())
    wal = tmp_path / "ledger.sqlite-wal"
    with ledger.engine.connect() as conn:  # the log empty before the import
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    assert os.path.getsize(wal) == 0
    seen: list[tuple[int, int]] = []  # (the writer's own autocheckpoint, the log's bytes)

    @event.listens_for(ledger.engine, "commit")
    def committing(conn):
        if conn.get_execution_options().get(WRITE):  # the import's writer
            driver = conn.connection.dbapi_connection
            seen.append((autocheckpoint(driver), os.path.getsize(wal)))

    before = threading.active_count()
    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    event.remove(ledger.engine, "commit", committing)
    assert summary.counts["imported"] == 60
    assert len(seen) == 30
    assert {own for own, _ in seen} == {0}  # the writer never copies the log itself
    # the log's length as each commit begins: the one before it wrote the log so far
    sizes = [size for _, size in seen]
    # it starts over as it is copied: a few batches' length (the writer waits for a copy at every
    # other commit at least, however slow the thread), never the thirty batches' it would reach
    # without the thread (the writer itself copies nothing: above)
    assert sizes[1] > 0 and max(sizes) <= 8 * sizes[1]
    with ledger.writer() as conn:
        driver = conn.connection.dbapi_connection
        page = driver.execute("PRAGMA page_size").fetchone()[0]
        assert autocheckpoint(driver) == db.CHECKPOINT_BYTES // page
    assert threading.active_count() == before


def test_the_thread_ends_when_the_import_fails(sqlite_ledger, factory, tmp_path, monkeypatch):
    ledger = sqlite_ledger
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(4):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    real = ingest.import_batch
    calls = []

    def fails_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the writer failed")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "import_batch", fails_second)
    before = threading.active_count()
    with pytest.raises(RuntimeError):
        import_paths(ledger, [tmp_path / "in"], batch_size=2)
    assert threading.active_count() == before
    with ledger.writer() as conn:
        driver = conn.connection.dbapi_connection
        assert autocheckpoint(driver) == CHECKPOINT_BYTES // PAGE_SIZE


def test_a_run_of_one_batch_starts_no_thread(sqlite_ledger, factory, tmp_path, monkeypatch):
    ledger = sqlite_ledger
    started = []
    monkeypatch.setattr(db.WalCheckpointer, "_run", lambda self: started.append(1))
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    write_invoice(tmp_path / "in" / "one.json", factory.invoice())
    assert import_paths(ledger, [tmp_path / "in"]).counts["imported"] == 1
    assert started == []
    for n in range(3):
        write_invoice(tmp_path / "more" / f"{n}.json", factory.invoice())
    assert import_paths(ledger, [tmp_path / "more"], batch_size=2).counts["imported"] == 3
    assert started == [1]  # from the second batch's commit on
    with ledger.writer() as conn:
        assert autocheckpoint(conn.connection.dbapi_connection) == CHECKPOINT_BYTES // PAGE_SIZE


def _autocheckpoint_at_each_commit(ledger, factory, tmp_path) -> list[int]:
    """Ten invoices imported in batches of two; the writer's autocheckpoint at each commit."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(10):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    seen: list[int] = []

    @event.listens_for(ledger.engine, "commit")
    def committing(conn):
        if conn.get_execution_options().get(WRITE):
            seen.append(autocheckpoint(conn.connection.dbapi_connection))

    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    event.remove(ledger.engine, "commit", committing)
    assert summary.counts["imported"] == 10
    return seen


def test_the_writer_copies_the_log_itself_when_the_thread_fails(
    sqlite_ledger, factory, tmp_path, monkeypatch
):
    ledger = sqlite_ledger

    def fails(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(db.WalCheckpointer, "_rounds", fails)
    seen = _autocheckpoint_at_each_commit(ledger, factory, tmp_path)
    assert seen[-1] == CHECKPOINT_BYTES // PAGE_SIZE  # given back as soon as the thread failed


def test_a_thread_failing_between_two_commits_hands_the_log_back_at_the_next(
    sqlite_ledger, factory, tmp_path, monkeypatch
):
    """The thread copies one batch, then fails on the next while the writer is between commits:
    the writer's next commit gives its own checkpoints back, not the end of the import."""
    ledger = sqlite_ledger
    rounds: list[int] = []
    real_copy = db.WalCheckpointer._copy
    between = threading.Event()  # the writer is past its third commit, before its fourth

    def copy(driver):
        rounds.append(1)
        if len(rounds) == 2:  # asked for by the third commit
            assert between.wait(10)
            raise OSError(28, "No space left on device")
        return real_copy(driver)

    ended = threading.Event()
    real_run = db.WalCheckpointer._run

    def run(self):
        real_run(self)
        ended.set()  # (after `failed` is set)

    batches = []
    real_batch = ingest.import_batch

    def batch(*args, **kwargs):
        batches.append(1)
        if len(batches) == 4:  # the third commit asked for the failing round: let it fail now
            between.set()
            assert ended.wait(10)
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(db.WalCheckpointer, "_copy", staticmethod(copy))
    monkeypatch.setattr(db.WalCheckpointer, "_run", run)
    monkeypatch.setattr(ingest, "import_batch", batch)
    seen = _autocheckpoint_at_each_commit(ledger, factory, tmp_path)
    assert seen == [0, 0, 0, 0, CHECKPOINT_BYTES // PAGE_SIZE]  # from the fourth commit on
