"""Files in, ledger records out: walk the sources, parse, validate, record in batches.

Each batch is one transaction, so an outcome reported to the caller (through `on_outcome`) is
already committed: a crash loses at most the batch in flight, never half of one.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import itertools
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from fapiao import collector, parse, pool
from fapiao.findings import finding, has_errors
from fapiao.ledger.db import IMPORT_CACHE_MIB, WalCheckpointer, page_cache
from fapiao.ledger.imports import Incoming, Outcome, import_batch, prepare_record
from fapiao.ledger.store import Ledger
from fapiao.parse import MAX_FILE_BYTES, Parsed, detect, parse_bytes
from fapiao.parse.reading import Reads, flatten, from_invoice, reads_to_json
from fapiao.telemetry import counters
from fapiao.validate import Context, validate

BATCH_SIZE = 2000
# A long run's batches grow to this many inputs after its first LONG_RUN_FROM files. On a ledger
# of a million invoices each commit writes again every index page its invoices touched, about
# one per random key (identity, fingerprint, file hash, outbox key) an invoice: batches of 8,000
# imported 250,000 files 25 % faster than 2,000, for about 200 MiB more memory. A short run keeps
# small batches, so the parsers and the writer overlap from the start (8,000 from the first file
# made 10,000 files a quarter slower); 16,000 was no faster.
LONG_RUN_BATCH_SIZE = 8000
LONG_RUN_FROM = 50_000
# A batch also ends before its original files pass this many bytes, so memory stays near this
# plus one file (MAX_FILE_BYTES), however large the files of a run are.
BATCH_BYTES = 64 * 1024 * 1024
# The importer's writer collects cycles only after this many batches (`collector.paused` while it
# writes): the automatic collections walked each batch still held, 0.45 s of a 50,000-file
# import's writer in 28 collections that found next to nothing.
COLLECT_EVERY = 32
PARALLEL_FROM = 4 * BATCH_SIZE  # below this, starting parser processes costs more than it saves
# ... unless the files are slow to read: a PDF takes milliseconds, a scan a second, against a
# quarter of a millisecond for an XML or JSON invoice (fewer than this go to one child process)
PARALLEL_SLOW_FROM = 32
SLOW = frozenset(
    {".pdf", ".ofd", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".zip"}
)  # (an archive may hold any of them)


@dataclass(slots=True)
class Source:
    name: str  # what the user sees: the path as given, or archive!member
    data: bytes | None
    error: Parsed | None = None


def file_names(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Every file under the given paths, sorted within each folder for a stable order."""
    return map(Path, _names(paths))


def _names(paths: Iterable[str | Path]) -> Iterator[str]:
    """`file_names` as text: an import walks a million names, and a `Path` for each cost the
    importer more than the parsers' results did to receive."""
    for raw in paths:
        top = os.fspath(Path(raw))  # as `Path` spells it: the names recorded stay the same
        if os.path.isdir(top):
            for root, dirs, files in os.walk(top):
                dirs.sort()
                for name in sorted(files):
                    yield os.path.join(root, name)
        else:
            yield top


def walk(paths: Iterable[str | Path]) -> Iterator[Source]:
    for path in file_names(paths):
        yield _read(path)


def count_files(paths: Iterable[str | Path]) -> int:
    total = 0
    for raw in paths:
        path = Path(raw)
        total += sum(len(f) for _, _, f in os.walk(path)) if path.is_dir() else 1
    return total


def _read(path: Path | str) -> Source:
    """The file's bytes, or what kept them from being read. One open, one fstat, one read (a
    large import reads a million small files: pathlib's stat-then-open costs twice the calls)."""
    name = str(path)
    try:
        fd = os.open(name, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            if size > MAX_FILE_BYTES:
                err = Parsed(
                    None,
                    [
                        finding(
                            "too_large",
                            detail=f"{size} 字节，上限 {MAX_FILE_BYTES}",
                            detail_en=f"{size} > {MAX_FILE_BYTES} bytes",
                        )
                    ],
                )
                return Source(name, os.read(fd, 64 * 1024), err)  # quarantine keeps its start
            return Source(name, _read_all(fd, size))
        finally:
            os.close(fd)
    except OSError as exc:
        return Source(
            name,
            None,
            Parsed(
                None,
                [
                    finding(
                        "unreadable",
                        detail=f"无法打开文件：{exc.strerror or exc}",
                        detail_en=exc.strerror or str(exc),
                    )
                ],
            ),
        )


def _read_all(fd: int, size: int) -> bytes:
    """To the end, as `Path.read_bytes` does (a file may grow, a read may come up short)."""
    chunks = [os.read(fd, size + 1)]
    while chunk := os.read(fd, 1 << 16):  # at EOF: no buffer the size of the file
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@functools.cache
def source_formats() -> tuple[ModuleType, ...]:
    """The formats an import reads: the parse package's, and those the capabilities add (the
    `source_formats` hook: the authority's reads the platform's 全量发票查询 export)."""
    from fapiao import plugins

    parse.add_formats(m for found in plugins.hook().source_formats() if found for m in found)
    return parse.known_formats()


def timed_parse(data: bytes, *, reads: bool = True) -> tuple[list[Parsed], str]:
    """`parse_bytes` with its time recorded under the detected format's name; also the source
    name its reads carry (`from_invoice` of an invoice read without reads of its own)."""
    module = detect(data, source_formats())
    name = module.__name__.rsplit(".", 1)[-1] if module is not None else "unknown"
    reader = getattr(module, "SOURCE", name)
    started = time.perf_counter()
    try:
        return parse_bytes(data, reads=reads, module=module), reader
    finally:
        counters.observe_parse(name, time.perf_counter() - started)


def to_incoming(source: Source, ctx: Context, *, fields: bool = True) -> list[Incoming]:
    """The inputs a file holds, validated. `fields=False` (the import): an input that passes
    keeps what it read aside unconverted (`Incoming.reads`), since only the review queue shows
    it, and carries its canonical JSON and hashes ready for the ledger (`prepare_record`)."""
    data = source.data or b""
    sha = hashlib.sha256(data).hexdigest()
    if source.error:
        results, reader = [source.error], "unknown"
    else:
        results, reader = timed_parse(data, reads=fields)
    out = []
    loaded: dict[int, Any] = {}  # a JSON array's rejects share one reading of the file
    for parsed in results:
        findings = list(parsed.findings)
        if parsed.invoice is not None:
            findings.extend(validate(parsed.invoice, ctx))
        name = source.name + parsed.label
        reads = parsed.fields
        lazy = not fields and parsed.invoice is not None and not has_errors(findings)
        if not lazy and not reads and parsed.invoice is not None and not fields:
            reads = from_invoice(parsed.invoice, reader)  # what parse_bytes would have added
        if not reads and (parsed.invoice is None or has_errors(findings)):
            reads = _json_reads(
                data, parsed, loaded
            )  # only rejects need them: the queue shows them
        if parsed.original is not None:  # an archive member keeps its own original file
            body, digest = parsed.original, hashlib.sha256(parsed.original).hexdigest()
        else:
            body, digest = data, sha
        item = Incoming(
            name,
            digest,
            body,
            parsed.invoice,
            findings,
            source=parsed.source,
            fields={} if lazy else reads_to_json(reads),
            label=parsed.label,
        )
        if lazy:
            item.reads, item.reader = reads, reader
            item.prepared = prepare_record(item)
        out.append(item)
    return out


def _late_fields(item: Incoming) -> dict[str, Any]:
    """The `fields` of an input that passed here but is rejected by the ledger (`no_tenant`):
    what its reader read, or else every field of its invoice (as `parse_bytes` gives them)."""
    reads = item.reads
    if not reads and item.prepared is not None:
        reads = flatten(json.loads(item.prepared.doc_text), item.reader)
    elif not reads and item.invoice is not None:
        reads = from_invoice(item.invoice, item.reader)
    return reads_to_json(reads or {})


def _json_reads(data: bytes, parsed: Parsed, loaded: dict[int, Any]) -> Reads:
    """Canonical JSON says no fields of its own: the review queue shows what the document holds
    (an invoice that failed a check, or a document with a field missing)."""
    body = parsed.original if parsed.original is not None else data
    if body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        return {}
    if parsed.invoice is not None:
        return from_invoice(parsed.invoice, "json")
    if id(body) not in loaded:
        try:
            loaded[id(body)] = json.loads(body.decode("utf-8-sig"))
        except (ValueError, RecursionError):
            loaded[id(body)] = None
    doc = loaded[id(body)]
    if isinstance(doc, list):
        index = parsed.label[1:-1] if parsed.label.startswith("[") else "0"
        doc = doc[int(index)] if index.isdigit() and int(index) < len(doc) else None
    return flatten(doc, "json") if isinstance(doc, dict) else {}


_KEPT_IN = {  # an outcome's status -> the Summary list that keeps it
    "imported": "imported",
    "duplicate": "duplicates",
    "conflict": "conflicts",
    "rejected": "rejected",
    "completed": "completed",
}


@dataclass(slots=True)
class Summary:
    imported: list[Outcome] = field(default_factory=list)
    duplicates: list[Outcome] = field(default_factory=list)
    conflicts: list[Outcome] = field(default_factory=list)
    rejected: list[Outcome] = field(default_factory=list)
    # head-only records (taken from the platform's list) that their own file completed
    completed: list[Outcome] = field(default_factory=list)
    keep: bool = True  # False: count only (streaming runs of millions)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.add_all([outcome])

    def add_all(self, outcomes: list[Outcome]) -> None:
        """A batch's outcomes, counted once each (metrics and the operation log too)."""
        statuses = counters.import_outcomes(outcomes)
        for status, count in statuses.items():
            self.counts[status] = self.counts.get(status, 0) + count
        if self.keep or statuses.get("rejected"):
            for outcome in outcomes:
                if self.keep or outcome.status == "rejected":
                    getattr(self, _KEPT_IN[outcome.status]).append(outcome)

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            "imported": [o.to_json() for o in self.imported],
            "duplicates": [o.to_json() for o in self.duplicates],
            "conflicts": [o.to_json() for o in self.conflicts],
            "rejected": [o.to_json() for o in self.rejected],
            "completed": [o.to_json() for o in self.completed],
        }


def import_paths(
    ledger: Ledger,
    paths: Iterable[str | Path],
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_file: Callable[[], None] | None = None,
    batch_size: int = BATCH_SIZE,
    keep: bool = True,
) -> Summary:
    """Imports files and folders. Large runs, and runs of PDFs, scans and OFDs, are parsed in
    child processes, one per core, while this process writes. A few such files are parsed in one
    child process: the native parsers (pdfium, OCR) run outside the importer even for one file,
    so a file that crashes them is quarantined (`unreadable`) instead of ending the import."""
    names = _names(paths)
    head = list(itertools.islice(names, PARALLEL_FROM))
    every = itertools.chain(head, names)
    processes = pool.workers()
    slow = sum(os.path.splitext(name)[1].lower() in SLOW for name in head)
    if processes > 1 and (len(head) >= PARALLEL_FROM or slow >= PARALLEL_SLOW_FROM):
        batches = _parsed_in_pool(every, batch_size, processes)
    elif slow:
        batches = _parsed_in_pool(every, batch_size, 1)
    else:
        batches = _parsed_here((_read(p) for p in every), batch_size)
    return _record(ledger, batches, on_outcome=on_outcome, on_file=on_file, keep=keep)


def import_sources(
    ledger: Ledger,
    sources: Iterable[Source],
    *,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_file: Callable[[], None] | None = None,
    batch_size: int = BATCH_SIZE,
    keep: bool = True,
) -> Summary:
    return _record(
        ledger, _parsed_here(sources, batch_size), on_outcome=on_outcome, on_file=on_file, keep=keep
    )


def _parsed_here(sources: Iterable[Source], batch_size: int) -> Iterator[list[Incoming]]:
    """One file parsed at a time; a batch ends at `batch_size` inputs or before BATCH_BYTES."""
    ctx = Context()
    batch: list[Incoming] = []
    held = 0
    for source in sources:
        size = len(source.data or b"")
        if batch and held + size > BATCH_BYTES:
            yield batch
            batch, held = [], 0
        batch.extend(to_incoming(source, ctx, fields=False))
        held += size
        if len(batch) >= batch_size:
            yield batch
            batch, held = [], 0
    if batch:
        yield batch


def _parse_files(names: list[str]) -> counters.Timed[Incoming]:
    ctx = Context()
    return counters.timed_in_child(
        lambda: (
            item
            for name in pool.watched(names)
            for item in to_incoming(_read(name), ctx, fields=False)
        )
    )


def _crashed(name: str) -> list[Incoming]:
    """A file that crashed the parser's process: quarantined with its reason, the run goes on."""
    return crashed_parser(_read(Path(name)), fields=False)


def _timed_out(name: str) -> list[Incoming]:
    """A file the parser's process was ended on, past the time a file may take."""
    limit = f"{pool.FILE_LIMIT_S:g}"
    detail = (f"解析超过 {limit} 秒，已中止", f"the parser took longer than {limit} s on it")
    return crashed_parser(_read(Path(name)), fields=False, detail=detail)


CRASHED = ("解析程序在此文件上崩溃", "the parser crashed on it")


def crashed_parser(
    source: Source, *, fields: bool = True, detail: tuple[str, str] = CRASHED
) -> list[Incoming]:
    """The inputs of a source that crashed the parser's process (or hung it: `detail`): rejected
    as unreadable with that reason (unless reading it had failed already), its bytes kept for the
    review queue."""
    if source.error is None:
        source = Source(
            source.name,
            source.data,
            Parsed(None, [finding("unreadable", detail=detail[0], detail_en=detail[1])]),
        )
    return to_incoming(source, Context(), fields=fields)


def _chunks(
    names: Iterable[str], size: int, budget: int | None = None, *, grown: int | None = None
) -> Iterator[list[str]]:
    """Names in chunks of `size` (`grown` once LONG_RUN_FROM names have passed), each ending
    before its files pass `budget` bytes (by stat; BATCH_BYTES unless given)."""
    budget = BATCH_BYTES if budget is None else budget
    chunk: list[str] = []
    held = 0
    for seen, path in enumerate(names):
        if grown is not None and seen == LONG_RUN_FROM:
            size = max(size, grown)
        try:
            bytes_ = min(os.stat(path).st_size, MAX_FILE_BYTES)
        except OSError:
            bytes_ = 0  # _read reports it
        if chunk and held + bytes_ > budget:
            yield chunk
            chunk, held = [], 0
        chunk.append(path)
        held += bytes_
        if len(chunk) >= size:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


T = TypeVar("T")
_END = object()  # `_made_ahead`: no more items


def _made_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """`items`, made by a thread of their own up to `depth` ahead of the one that takes them: the
    chunks of a large import, for which the folders are walked and each file's size asked of the
    system (a few ms a chunk), are made while the importer's thread writes (its statements hold
    no GIL), not in the pause between two batches. An error making them is raised to the taker."""
    maker = ThreadPoolExecutor(1, thread_name_prefix="fapiao-chunks")
    try:
        pending = deque(maker.submit(next, items, _END) for _ in range(depth))
        while (item := pending.popleft().result()) is not _END:
            pending.append(maker.submit(next, items, _END))
            yield item
    finally:
        maker.shutdown(wait=True, cancel_futures=True)


def _parsed_in_pool(
    names: Iterable[str], batch_size: int, processes: int
) -> Iterator[list[Incoming]]:
    """Parse and validate in child processes, one per core, a chunk ahead of them, while this
    process writes; names are read lazily so memory stays flat however many files there are.
    A chunk is a quarter of the batch budget: the chunks in flight and the batch being written
    together hold about one budget."""
    chunks = _made_ahead(_chunks(names, batch_size, BATCH_BYTES // 4, grown=LONG_RUN_BATCH_SIZE))
    source_formats()  # the capabilities' formats found here, once, before the workers fork
    for batch in pool.in_pool(
        chunks, _parse_files, _crashed, processes=processes, timed_out=_timed_out
    ):
        counters.add_child_times(batch)  # (a crash's stand-in carries none)
        yield batch


def _record(
    ledger: Ledger,
    batches: Iterable[list[Incoming]],
    *,
    on_outcome: Callable[[Outcome], None] | None,
    on_file: Callable[[], None] | None,
    keep: bool,
) -> Summary:
    tenants = ledger.tenants()
    summary = Summary(keep=keep)
    index = _IndexBehind(ledger)
    inputs = done = 0
    with (
        collector.paused(),  # reference counting frees a batch; cycles: every COLLECT_EVERY
        index,
        ledger.writer() as conn,
        WalCheckpointer(conn) as checkpoints,
        contextlib.ExitStack() as long_run,
    ):
        # not enumerate(): its reused result tuple would hold the last batch, and its original
        # files, while the next one is read
        for batch in batches:
            done += 1
            if inputs < LONG_RUN_FROM <= inputs + len(batch):
                # a long run's indexes outgrow the page cache (`db.IMPORT_CACHE_MIB`); a short one
                # keeps it small, its memory one batch and a file (large files fill a cache too)
                long_run.enter_context(page_cache(conn, IMPORT_CACHE_MIB))
            inputs += len(batch)
            outcomes = import_batch(ledger, tenants, batch, late_fields=_late_fields, on=conn)
            checkpoints.committed()
            summary.add_all(outcomes)
            if on_outcome:
                for outcome in outcomes:
                    on_outcome(outcome)
            if on_file:
                for _ in {item.file.split("!")[0].split("[")[0] for item in batch}:
                    on_file()
            del batch  # its original files are stored: not held while the next batch is parsed
            if done % COLLECT_EVERY == 0:
                gc.collect(1)  # the few cycles these batches left (480 in 50,000 invoices)
            index.poke(analyze=done & (done - 1) == 0)  # 1, 2, 4 …: the tables have doubled
    return summary


class _IndexBehind:
    """PostgreSQL: bringing the search index up to the batches committed so far, in a thread with
    a connection of its own, while the import goes on; the import ends with the index caught up,
    and the catch-up after it (`after_import`) finds nothing left, or reports the error this one
    met. The trigram index is the server's work, the largest single part of an import's time when
    done after it: the server does it on the core the importer leaves while it waits for the
    parser (the thread holds no GIL while the server works). On SQLite each batch indexes its own
    invoices in its transaction (`search_index.index_new`).

    The same thread refreshes the planner's statistics as the tables double (`analyze`): done
    between two batches by the importer itself, ANALYZE held up the import for a twelfth of its
    time (50,000 invoices), and nothing in a batch waits for it (a transaction's lookups steer
    clear of sequential scans themselves, `imports.import_batch`)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.engine = ledger.engine
        self.thread: threading.Thread | None = None
        self.on = self.engine.dialect.name == "postgresql"
        self.analyze = False  # wanted at the thread's next round

    def poke(self, *, analyze: bool = False) -> None:
        self.analyze = self.analyze or analyze
        if self.on and (self.thread is None or not self.thread.is_alive()):
            self.thread = threading.Thread(target=self._catch_up, daemon=True)
            self.thread.start()

    def _catch_up(self) -> None:
        from fapiao.ledger import search_index

        try:
            if self.analyze:
                self.analyze = False
                self.ledger.refresh_statistics()
            search_index.catch_up(self.engine)
        except Exception:  # the catch-up after the import runs again and raises it there
            self.on = False

    def __enter__(self) -> _IndexBehind:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread is not None:
            self.thread.join()
            self._catch_up()  # the batches committed while the last catch-up ran


def after_import(
    ledger: Ledger, recorded: Iterable[Outcome], actor: str, *, verify: bool | None = None
) -> list[Any]:
    """What follows every import, from the command line or an upload alike: the new invoices
    become searchable, then each capability's `after_import` hook runs (查验 on receipt of the
    received invoices, notices …). `recorded` are the import's outcomes (only the imported ones
    count); `verify` overrides $FAPIAO_VERIFY_ON_IMPORT for this call (the CLI's --verify).

    Returns what the capabilities report (such as the 查验 outcomes). Nothing here undoes the
    import, which has committed."""
    from fapiao import plugins
    from fapiao.ledger import search_index

    search_index.catch_up(ledger.engine)
    rows = [
        {"id": int(o.id), "file": o.file, "code": o.code, "number": o.number}
        for o in recorded
        if o.status == "imported" and o.id
    ]
    if not rows:
        return []
    reports = plugins.hook().after_import(
        ledger=ledger, recorded=rows, actor=actor, options={"verify": verify}
    )
    return [item for report in reports if report for item in report]
