"""The parser pool of a large import: results in the order of the files whatever the number of
processes, and a file that kills its process (native code crashing on hostile input) or hangs it
is quarantined with its reason while the rest of the run goes on."""

from __future__ import annotations

import gc
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any

from fapiao import ingest, pool

ROOT = Path(__file__).resolve().parent
SAMPLES = sorted((ROOT / "data" / "samples" / "pdf").glob("*.pdf"))


def _lengths(names: list[str]) -> list[tuple[str, int]]:
    """Each name with its length; a name holding "crash" kills the process working on it."""
    if any("crash" in name for name in names):
        os.kill(os.getpid(), signal.SIGKILL)
    return [(name, len(name)) for name in names]


def _stand_in(name: str) -> list[tuple[str, int]]:
    return [(name, -1)]


def test_results_keep_the_order_of_the_chunks() -> None:
    chunks = [[f"f{n}-{m}" for m in range(n % 3 + 1)] for n in range(40)]
    got = [row for part in pool.in_pool(chunks, _lengths, _stand_in, processes=2) for row in part]
    assert got == [(name, len(name)) for chunk in chunks for name in chunk]


def test_a_file_that_kills_its_process_is_found_and_the_run_goes_on() -> None:
    chunks = [[f"f{n}-{m}" for m in range(5)] for n in range(12)]
    chunks[4][3] = "crash-me"
    got = [row for part in pool.in_pool(chunks, _lengths, _stand_in, processes=2) for row in part]
    expected = [(name, -1 if "crash" in name else len(name)) for c in chunks for name in c]
    assert got == expected


_PARSE_FILES = ingest._parse_files


def _crash_on_marked(names: list[str]) -> list[ingest.Incoming]:
    if any("crash" in Path(name).name for name in names):
        os.kill(os.getpid(), signal.SIGSEGV)
    return _PARSE_FILES(names)


def _import_folder_with(ledger, tmp_path: Path, bad: str, *, at: int) -> tuple[Any, list[Any]]:
    """Import a folder of sample PDFs (enough for the parallel pool) in which the `at`-th is named
    `bad`: every file gets one outcome; returns the bad file's and the other rejected ones."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(ingest.PARALLEL_SLOW_FROM + 3):
        source = SAMPLES[n % len(SAMPLES)]
        shutil.copyfile(source, folder / (bad if n == at else f"{n:03d}-{source.name}"))
    summary = ingest.import_paths(ledger, [folder])
    outcomes = summary.imported + summary.duplicates + summary.conflicts + summary.rejected
    assert sorted(Path(o.file).name for o in outcomes) == sorted(p.name for p in folder.iterdir())
    (found,) = [o for o in summary.rejected if Path(o.file).name == bad]
    return found, [o for o in summary.rejected if o is not found]


def test_import_quarantines_the_pdf_that_crashed_its_parser(ledger, monkeypatch, tmp_path):
    """A folder of PDFs (enough to be parsed in the pool): the one that crashes its parser's
    process is rejected as unreadable, every other file gets its outcome."""
    monkeypatch.setattr(ingest, "_parse_files", _crash_on_marked)
    monkeypatch.setattr(pool, "workers", lambda: 2)
    crashed, readable = _import_folder_with(ledger, tmp_path, "crash.pdf", at=17)
    assert [(f.code, "崩溃" in f.message, "crashed" in f.message_en) for f in crashed.findings] == [
        ("unreadable", True, True)
    ]
    assert all(f.code != "unreadable" for o in readable for f in o.findings)


def test_one_pdf_that_crashes_its_parser_does_not_end_the_import(ledger, monkeypatch, tmp_path):
    """Even a handful of PDFs (too few for the parallel pool) is parsed outside the importer: the
    one that crashes the parser is quarantined, the others imported, the import ends normally."""
    monkeypatch.setattr(ingest, "_parse_files", _crash_on_marked)
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copyfile(SAMPLES[0], folder / "a.pdf")
    shutil.copyfile(SAMPLES[1], folder / "crash.pdf")
    summary = ingest.import_paths(ledger, [folder])
    outcomes = {Path(o.file).name: o for o in summary.imported + summary.rejected}
    assert sorted(outcomes) == ["a.pdf", "crash.pdf"]
    crashed = outcomes["crash.pdf"]
    assert [(f.code, "崩溃" in f.message, "crashed" in f.message_en) for f in crashed.findings] == [
        ("unreadable", True, True)
    ]
    # the other file was read (here no tenant of the ledger is a party to it)
    assert all(f.code != "unreadable" for f in outcomes["a.pdf"].findings)


_TALLY: Path | None = None  # where a hanging file notes each time it is tried (set before forking)


def _lengths_or_hang(names: list[str]) -> list[tuple[str, int]]:
    """As `_lengths`, each name taken through `pool.watched`; a name holding "hang" never
    returns (as native code looping would)."""
    out = []
    for name in pool.watched(names):
        if "hang" in name:
            assert _TALLY is not None
            with _TALLY.open("a") as tally:
                tally.write("x")
            while True:
                time.sleep(60)
        out.append((name, len(name)))
    return out


def _late(name: str) -> list[tuple[str, int]]:
    return [(name, -2)]


def test_a_file_that_hangs_its_process_is_ended_and_not_tried_again(tmp_path) -> None:
    global _TALLY
    _TALLY = tmp_path / "tally"
    chunks = [[f"f{n}-{m}" for m in range(5)] for n in range(8)]
    chunks[3][2] = "hang-me"
    start = time.monotonic()
    got = [
        row
        for part in pool.in_pool(
            chunks, _lengths_or_hang, _stand_in, processes=2, timed_out=_late, limit=1.0
        )
        for row in part
    ]
    took = time.monotonic() - start
    expected = [(name, -2 if "hang" in name else len(name)) for c in chunks for name in c]
    assert got == expected
    assert _TALLY.read_text() == "x"  # ended once, at its limit: the file was not worked again
    assert took < 30


_READ = ingest._read
_IMPORTER = os.getpid()


def _read_or_hang(path):
    """The import's file reading, stuck for good on stuck.pdf in a parser's process."""
    while Path(path).name == "stuck.pdf" and os.getpid() != _IMPORTER:
        time.sleep(60)
    return _READ(path)


def test_import_quarantines_the_pdf_that_hung_its_parser(ledger, monkeypatch, tmp_path):
    """The parser stuck on one PDF is ended at the limit a file may take; that PDF is rejected as
    unreadable with the reason, every other file gets its outcome and the import ends."""
    monkeypatch.setattr(ingest, "_read", _read_or_hang)
    monkeypatch.setattr(pool, "workers", lambda: 2)
    monkeypatch.setattr(pool, "FILE_LIMIT_S", 2.0)
    hung, readable = _import_folder_with(ledger, tmp_path, "stuck.pdf", at=5)
    assert [
        (f.code, "超过 2 秒" in f.message, "longer than 2 s" in f.message_en) for f in hung.findings
    ] == [("unreadable", True, True)]
    assert [
        (o.file, f.message) for o in readable for f in o.findings if f.code == "unreadable"
    ] == []


def test_a_consumer_that_stops_does_not_wait_for_a_stuck_worker(tmp_path) -> None:
    """The importer failing (here: closing the results) while a parser is stuck on a file ends
    that parser instead of waiting for it in the pool's shutdown."""
    global _TALLY
    _TALLY = tmp_path / "tally"
    chunks = [["a-0", "a-1"], ["hang-me"], ["b-0"]]
    results = pool.in_pool(
        chunks, _lengths_or_hang, _stand_in, processes=2, timed_out=_late, limit=3600.0
    )
    assert next(results) == [("a-0", 3), ("a-1", 3)]
    while not _TALLY.exists():  # the stuck file has been reached
        time.sleep(0.05)
    closing = threading.Thread(target=results.close, daemon=True)  # would wait for ever before
    closing.start()
    closing.join(timeout=10)
    assert not closing.is_alive()


def _collector(names: list[str]) -> list[tuple[bool, tuple[int, int, int]]]:
    return [(gc.isenabled(), gc.get_threshold()) for _ in names]


def test_a_worker_collects_cycles_even_when_its_parent_held_its_collector_off() -> None:
    """The importer holds its collector off while it writes (`ingest`), and its workers are forked
    then: each turns its own on again, at its own threshold, or cycles a parser leaves (a PDF's,
    a scan's) would stay for the whole run."""
    gc.disable()
    try:
        got = [
            row
            for part in pool.in_pool([["a"], ["b"]], _collector, _stand_in, processes=2)
            for row in part
        ]
    finally:
        gc.enable()
    assert got == [(True, pool.COLLECT_THRESHOLD)] * 2
