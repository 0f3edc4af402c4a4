"""A large import's chunks are made by a thread of their own, ahead of the writer
(`ingest._made_ahead`): in order, an error raised where they are taken, and the thread gone when
the taker stops early or fails."""

from __future__ import annotations

import threading

import pytest

from fapiao import ingest
from tests.conftest import write_invoice


def makers() -> int:
    return sum(1 for t in threading.enumerate() if t.name.startswith("fapiao-chunks"))


def test_items_come_in_order_made_by_another_thread():
    made_by: set[str] = set()

    def items():
        for n in range(50):
            made_by.add(threading.current_thread().name)
            yield n

    assert list(ingest._made_ahead(items(), depth=3)) == list(range(50))
    assert {name.rpartition("_")[0] for name in made_by} == {"fapiao-chunks"}
    assert makers() == 0


def test_an_error_making_them_is_raised_to_the_taker():
    def items():
        yield 1
        raise OSError(13, "Permission denied")

    taken = []
    with pytest.raises(OSError, match="Permission denied"):
        for item in ingest._made_ahead(items()):
            taken.append(item)
    assert taken == [1]
    assert makers() == 0


def test_the_thread_ends_when_the_taker_stops_early():
    made = []

    def endless():
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    ahead = ingest._made_ahead(endless(), depth=2)
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert makers() == 0
    assert len(made) <= 5 + 2 + 1  # never more than `depth` ahead (and the one being offered)


def test_a_large_import_makes_its_chunks_ahead(ledger, factory, tmp_path, monkeypatch):
    monkeypatch.setattr(ingest, "PARALLEL_FROM", 4)  # "large" from four files
    monkeypatch.setattr(ingest.pool, "workers", lambda: 2)
    real_chunks = ingest._chunks
    made_by: set[str] = set()

    def chunks(*args, **kwargs):
        for chunk in real_chunks(*args, **kwargs):
            made_by.add(threading.current_thread().name)
            yield chunk

    monkeypatch.setattr(ingest, "_chunks", chunks)
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(9):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    summary = ingest.import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    assert summary.counts["imported"] == 9
    assert {name.rpartition("_")[0] for name in made_by} == {"fapiao-chunks"}
    assert makers() == 0
