"""A folder of PDF invoices parsed on every core, beside the bare limit measured in the same run.

The folder (default 10,000 files, built once under --folder and kept) mixes the real sample PDFs
(tests/data/samples/pdf: 数电票 and older layouts, from issuers' own software), PDFs drawn the way
issuing software draws them (tests/corpus: both layouts, every item-table kind, 销货清单 and
multi-page invoices) and the demo's own drawings (fapiao_dev.samples), in about 4 : 5 : 1. A copy
is its source with a PDF comment appended after %%EOF: another file (another SHA-256) with the
same content, so the parser does the same work on it.

Measured on the same pool of child processes (`fapiao.pool`, the one `fapiao import` uses, in the
same chunks):
- bare: pypdfium2 opens each file and takes each page's text, nothing else;
- parse: each file parsed and validated into what the ledger records, as `fapiao import` does
  (`ingest._parsed_in_pool`), results handed back to this process;
- with --import, the whole `fapiao import` of the folder into a new SQLite ledger.
Files/s by wall clock, CPU seconds of this process and its children, the parse's ratio to the bare
limit, and the load average around each run (the machine may be shared: the ratio is the figure).

    python bench/pdf_folder.py [--count 10000] [--folder DIR] [--workers N] [--import]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bare import pdf_text, pdf_text_font_held  # noqa: E402

from fapiao import ingest, pool  # noqa: E402
from fapiao.findings import has_errors  # noqa: E402

REAL = ROOT / "tests" / "data" / "samples" / "pdf"
TARGET = 600  # files/s on both cores


def _sources(generated: int, drawn: int) -> list[tuple[str, bytes, int]]:
    """(name, bytes, weight) of the distinct PDFs the folder is copied from."""
    from tests.corpus import generate

    from fapiao_dev.samples import samples

    out = [(f"real-{p.stem}", p.read_bytes(), 40 * generated) for p in sorted(REAL.glob("*.pdf"))]
    real = len(out)
    for g in generate(generated, seed=7):
        out.append((f"corpus-{Path(g.name).stem}", g.data, 50 * real))
    for n, s in enumerate(samples(drawn, formats=("pdf",), seed=7)):
        out.append((f"demo-{n:03d}-{s.invoice.number}", s.data, 10 * real * generated // drawn))
    return out


def build(folder: Path, count: int, generated: int, drawn: int) -> list[Path]:
    """The folder's files, made when it does not hold `count` PDFs yet."""
    have = sorted(folder.glob("*.pdf")) if folder.is_dir() else []
    if len(have) == count:
        return have
    folder.mkdir(parents=True, exist_ok=True)
    for old in have:
        old.unlink()
    sources = _sources(generated, drawn)
    deck = [n for n, (_, _, weight) in enumerate(sources) for _ in range(weight)]
    step = 7919  # a prime: walks the deck so the kinds interleave in the folder's order
    paths = []
    for n in range(count):
        name, data, _ = sources[deck[(n * step) % len(deck)]]
        path = folder / f"{n:05d}-{name}.pdf"
        path.write_bytes(data + b"\n%% copy %d\n" % n)
        paths.append(path)
    return paths


def _bare(names: list[str]) -> list[int]:
    """The limit: open the PDF and take each page's text with pypdfium2, nothing else."""
    return [pdf_text(Path(name).read_bytes()) for name in names]


def _bare_font_held(names: list[str]) -> list[int]:
    """The same, pdfium's substitute font kept loaded as the parser keeps it."""
    return [pdf_text_font_held(Path(name).read_bytes()) for name in names]


def _crashed(name: str) -> list[int]:
    return [-1]


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(label: str, files: int, run: Callable[[], str]) -> float:
    load = os.getloadavg()[0]
    cpu, wall = _cpu(), time.perf_counter()
    note = run()
    cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    rate = files / wall
    print(
        f"  {label:8} {rate:7.0f} files/s  {wall:7.2f} s wall  {cpu:7.2f} s CPU"
        f"  ({1000 * cpu / files:.2f} ms CPU a file)  load {load:.1f}→{os.getloadavg()[0]:.1f}"
        f"  {note}",
        flush=True,
    )
    return rate


def _chunks(paths: list[Path]) -> Iterator[list[str]]:
    return ingest._chunks(iter(paths), ingest.BATCH_SIZE, ingest.BATCH_BYTES // 4)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, default=Path(tempfile.gettempdir()) / "pdf-folder")
    parser.add_argument("--workers", type=int, default=pool.workers())
    parser.add_argument("--generated", type=int, default=96, help="distinct tests/corpus PDFs")
    parser.add_argument("--drawn", type=int, default=16, help="distinct fapiao_dev PDFs")
    parser.add_argument("--import", dest="full", action="store_true", help="also fapiao import")
    args = parser.parse_args()
    paths = build(args.folder / str(args.count), args.count, args.generated, args.drawn)
    count, workers = len(paths), args.workers
    print(f"{count} PDFs in {args.folder / str(args.count)}, {workers} worker processes")

    def bare(work: Callable[[list[str]], list[int]] = _bare) -> str:
        done = sum(
            len(part) for part in pool.in_pool(_chunks(paths), work, _crashed, processes=workers)
        )
        return f"({done} files)"

    buyers: dict[str, str] = {}  # the import's tenants: every buyer, so the invoices are received

    def parse() -> str:
        read = rejected = 0
        for batch in ingest._parsed_in_pool(iter(paths), ingest.BATCH_SIZE, workers):
            for item in batch:
                if item.prepared is not None:
                    buyer = json.loads(item.prepared.doc_text)["buyer"]
                    buyers[buyer["tax_id"]] = buyer["name"]
                ok = item.prepared is not None or (
                    item.invoice is not None and not has_errors(item.findings)
                )
                read += ok
                rejected += not ok
        return f"({read} invoices read, {rejected} inputs rejected)"

    limit = _timed("bare", count, bare)
    held = _timed("bare+font", count, lambda: bare(_bare_font_held))
    rate = _timed("parse", count, parse)
    print(
        f"  ratio parse/bare {rate / limit:.2f}, parse/bare+font {rate / held:.2f}; "
        f"target {TARGET}/s on both cores"
    )
    if args.full:
        from fapiao.ledger.db import open_engine
        from fapiao.ledger.store import Ledger

        with tempfile.TemporaryDirectory() as tmp:
            ledger = Ledger(open_engine(str(Path(tmp) / "ledger.sqlite")), actor="bench")
            for tax_id, name in buyers.items():
                ledger.add_tenant(tax_id=tax_id, name=name)

            def full() -> str:
                summary = ingest.import_paths(ledger, [args.folder / str(args.count)], keep=False)
                return str(dict(sorted(summary.counts.items())))

            _timed("import", count, full)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
