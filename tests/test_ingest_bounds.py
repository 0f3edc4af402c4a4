"""The importer's resources stay bounded: a run of large files holds about one batch budget of
them at a time (not the whole run), and the parser process of a large run dies with the importer,
even when that is killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from fapiao import ingest
from fapiao.ingest import Source
from fapiao_dev.synth import InvoiceFactory
from tests.conftest import write_invoice
from tests.proc_support import children_of, gone

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


def test_batches_end_before_their_files_pass_the_byte_budget(monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH_BYTES", 10 * MIB)
    sources = [Source(f"{n}.bin", bytes([n]) * (4 * MIB)) for n in range(7)]
    sizes = [len(b) for b in ingest._parsed_here(iter(sources), batch_size=100)]
    assert sizes == [2, 2, 2, 1]
    big = [Source("big.bin", b"x" * (12 * MIB)), Source("small.bin", b"y")]
    assert [len(b) for b in ingest._parsed_here(iter(big), batch_size=100)] == [1, 1]


def test_background_chunks_end_before_the_byte_budget(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ingest, "BATCH_BYTES", 10 * MIB)
    names = []
    for n in range(5):
        path = tmp_path / f"{n}.bin"
        path.write_bytes(b"z" * (4 * MIB))
        names.append(path)
    names.append(tmp_path / "gone.bin")  # unreadable: counted as nothing, reported by the parser
    chunks = list(ingest._chunks(iter(names), 100))
    assert [len(c) for c in chunks] == [2, 2, 2]


MEASURED = """
import sys, tracemalloc
from pathlib import Path
from fapiao import ingest
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
ingest.BATCH_BYTES = 16 * 1024 * 1024
ledger = Ledger(open_engine(sys.argv[1]), actor="test")
# the same path once on a small file first: modules loaded and caches filled on first use are the
# process's, not the run's
ingest.import_paths(ledger, [sys.argv[2]])
tracemalloc.start()
summary = ingest.import_paths(ledger, [sys.argv[3]])
print(len(summary.rejected), tracemalloc.get_traced_memory()[1])
"""


def test_memory_does_not_grow_with_the_files_of_a_run(db_url, tmp_path: Path) -> None:
    """Twelve files of 8 MiB nobody can read (all kept in quarantine, their bytes stored) with a
    batch budget of 16 MiB: the importer holds about one batch and the next file, not the run.
    Measured in a process of its own: tracemalloc counts every thread's allocations, and a test
    run's process has threads of other tests in it."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(12):
        (folder / f"{n}.bin").write_bytes(os.urandom(8 * MIB))
    (tmp_path / "warm").mkdir()
    (tmp_path / "warm" / "w.bin").write_bytes(os.urandom(1024))
    out = subprocess.run(
        [sys.executable, "-c", MEASURED, db_url, str(tmp_path / "warm"), str(folder)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rejected, peak = map(int, out.stdout.split())
    assert rejected == 12
    # one batch, the file read after it, and a driver's copy of one file (PostgreSQL's sends a
    # statement's parameters from a copy); the batch before is let go before the next is read
    assert peak < 16 * MIB + 2 * 8 * MIB + 4 * MIB, (
        f"peak {peak // MIB} MiB held for 96 MiB of files"
    )


KILLABLE = """
import sys
from fapiao import ingest
from fapiao.ledger.db import open_engine
from fapiao.ledger.store import Ledger
ingest.PARALLEL_FROM = 50  # a large run, in small: parsing goes to the child process
ingest.os.cpu_count = lambda: 2  # as on any machine with more than one core
ledger = Ledger(open_engine(sys.argv[1]), actor="test")
ledger.add_tenant(tax_id=sys.argv[3], name="本公司")
while True:  # imports until it is killed
    ingest.import_paths(ledger, [sys.argv[2]], batch_size=10, keep=False)
"""


def test_parser_child_dies_with_a_killed_importer(tmp_path: Path) -> None:
    factory = InvoiceFactory(seed=9)
    for n in range(400):
        write_invoice(tmp_path / "in" / f"{n:04d}.json", factory.invoice())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLABLE,
            str(tmp_path / "l.sqlite"),
            str(tmp_path / "in"),
            factory.home.tax_id,
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not (children := children_of(proc.pid)):
            assert proc.poll() is None, "the importer ended early"
            assert time.monotonic() < deadline, "no parser process started"
            time.sleep(0.05)
        time.sleep(0.5)  # in the middle of parsing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        survivors = [c for c in children if not gone(c)]
        for c in survivors:
            os.kill(c, signal.SIGKILL)
        assert survivors == [], "the parser process outlived the importer"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_amounts_beyond_the_ledger_are_rejected_not_a_failed_batch(ledger, factory, tmp_path):
    """An invoice consistent in itself but with amounts past what the ledger's 64-bit columns
    hold is quarantined with `amount_out_of_range`; the other inputs of its batch import."""
    ledger.add_tenant(tax_id=factory.home.tax_id, name=factory.home.name)
    good = factory.invoice()
    # 10^19 fen: past a 64-bit column, where the insert used to fail the whole batch
    item = replace(good.items[0], amount=10**19, tax=13 * 10**17, tax_rate="0.13")
    huge = replace(
        factory.invoice(), items=(item,), amount=10**19, tax=13 * 10**17, total=113 * 10**17
    )
    write_invoice(tmp_path / "in" / "good.json", good)
    write_invoice(tmp_path / "in" / "huge.json", huge)
    summary = ingest.import_paths(ledger, [tmp_path / "in"])
    assert [Path(o.file).name for o in summary.imported] == ["good.json"]
    (rejected,) = summary.rejected
    assert {f.code for f in rejected.findings} == {"amount_out_of_range"}
