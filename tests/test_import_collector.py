"""While an import writes, Python's cycle collector runs only every `ingest.COLLECT_EVERY` batches,
between them: its automatic walks of the objects a batch holds cost a 50,000-file import's writer
0.45 s and found next to nothing. The collector is as it was once the import ends, even a failed
one, and it is held off and given back through one counted pause (`fapiao.collector`) that a
server's jobs share."""

from __future__ import annotations

import gc

import pytest

from fapiao import collector, ingest
from fapiao.ingest import import_paths
from tests.conftest import write_invoice


@pytest.fixture
def collections(monkeypatch):
    """(generation, whether a batch was being written) of each collection that starts while the
    test runs; the collector set to run after every ten new objects, so that an automatic
    collection would surely come while a batch is written, and always of generation 0."""
    seen: list[tuple[int, bool]] = []
    writing = [False]
    real_import_batch = ingest.import_batch

    def import_batch(*args, **kwargs):
        writing[0] = True
        try:
            return real_import_batch(*args, **kwargs)
        finally:
            writing[0] = False

    def note(phase, info):
        if phase == "start":
            seen.append((info["generation"], writing[0]))

    monkeypatch.setattr(ingest, "import_batch", import_batch)
    before = gc.get_threshold()
    gc.set_threshold(10, 10**6, 10**6)
    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*before)


def test_the_collector_runs_only_every_few_batches(
    ledger, factory, tmp_path, monkeypatch, collections
):
    monkeypatch.setattr(ingest, "COLLECT_EVERY", 2)
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    for n in range(9):
        write_invoice(tmp_path / "in" / f"{n}.json", factory.invoice())
    collections.clear()
    summary = import_paths(ledger, [tmp_path / "in"], batch_size=2, keep=False)
    assert summary.counts["imported"] == 9
    assert [writing for _, writing in collections].count(True) == 0
    # five batches: the import's own collections after the second and the fourth
    assert [generation for generation, _ in collections].count(1) == 2
    assert gc.isenabled()
    assert gc.get_threshold() == (10, 10**6, 10**6)


def test_the_collector_is_back_after_a_failed_import(ledger, tmp_path, monkeypatch, collections):
    def broken(*_args, **_kwargs):
        raise RuntimeError("the writer failed")

    monkeypatch.setattr(ingest, "import_batch", broken)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RuntimeError):
        import_paths(ledger, [tmp_path / "in"])
    assert gc.isenabled()


def test_the_collector_comes_back_when_the_last_holder_leaves(collections):
    """A server's jobs and an import may hold it off at once, and leave in any order."""
    first, second = collector.paused(), collector.paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second still holds it
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_found_off_stays_off(collections):
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # (a job's own process holds it off for good)
    finally:
        gc.enable()
