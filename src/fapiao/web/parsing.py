"""Uploads read by the native parsers (pdfium, OCR, archives) are parsed in a child process of the
server, so that a file that crashes one ends that child, not the server and every request in it.

The child is started with `spawn` (the server runs threads; a forked copy of them could hold a
lock forever), once, and kept for the next uploads: its start costs a second or two, a parse
milliseconds. A file that breaks it is parsed again alone in a fresh child; the one that breaks
that one too is answered as `unreadable` ("the parser crashed on it") and the others as usual.
JSON and XML uploads, read in Python, are parsed in the job's thread as before. A job whose
budget runs out while its file is being parsed (a parser hanging in native code) ends the child.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from fapiao import deadline
from fapiao.ingest import Incoming, Source, crashed_parser, source_formats, to_incoming
from fapiao.parse import detect
from fapiao.pool import die_with, end_workers
from fapiao.telemetry import counters
from fapiao.validate import Context

NATIVE = frozenset({"pdf", "image", "archive", "ofd"})  # the parse modules calling native code
WAIT_SLICE_S = 0.5  # how often a waiting job looks at its budget

Work = Callable[[list[Source]], list[list[Incoming]]]


def parse_sources(sources: list[Source]) -> list[list[Incoming]]:
    """Each source's inputs, validated (what `to_incoming` gives), in the child; with its parse
    times for the server's /metrics."""
    ctx = Context()
    return counters.timed_in_child(lambda: (to_incoming(source, ctx) for source in sources))


def native(source: Source) -> bool:
    """Read by native code, so parsed in the child; `FAPIAO_UPLOAD_PARSER=thread` parses every
    upload in the job's thread instead (where a server may not start processes)."""
    if os.environ.get("FAPIAO_UPLOAD_PARSER", "process") == "thread":
        return False
    data = source.data if source.error is None else None
    module = detect(data, source_formats()) if data else None
    return module is not None and module.__name__.rpartition(".")[2] in NATIVE


class ParserProcess:
    """The server's parser child (`work` runs there; a test may give its own)."""

    def __init__(self, work: Work = parse_sources) -> None:
        self.work = work
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def incoming(self, sources: list[Source], *, alone: bool = False) -> list[list[Incoming]]:
        """Each source's inputs; a source that crashes the parser is rejected as unreadable.
        `alone`: this source broke a process already (the first break may be another's doing)."""
        if not sources:
            return []
        try:
            return self._submit(sources)
        except BrokenProcessPool:
            pass
        if alone:
            return [crashed_parser(sources[0])]
        return [part for source in sources for part in self.incoming([source], alone=True)]

    def _submit(self, sources: list[Source]) -> list[list[Incoming]]:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=get_context("spawn"),
                    # ends with the server; not by the parent-death signal, which follows the
                    # thread that started it (a job's, which ends with its request)
                    initializer=die_with,
                    initargs=(os.getpid(),),
                )
            pool = self._pool
        try:
            future = pool.submit(self.work, sources)
            while True:
                try:
                    parsed = future.result(timeout=WAIT_SLICE_S)
                except TimeoutError:
                    pass
                else:
                    counters.add_child_times(parsed)
                    return parsed
                try:
                    deadline.check()  # the job's budget spent, or its request gone
                except deadline.Expired:
                    self._discard(pool, kill=True)  # a parser hanging in native code stops so
                    raise
        except BrokenProcessPool:
            self._discard(pool)
            raise

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool = False) -> None:
        """Forget the pool (if it is still the current one: another request may have replaced it
        already) and end it; `kill`: its process too, whatever it is doing."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        if kill:
            end_workers(pool)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._discard(self._pool)


UPLOADS = ParserProcess()
