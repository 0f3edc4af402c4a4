"""Work on files in child processes, one per core, that outlive a file that crashes them.

`in_pool(chunks, work, crashed)` runs `work(chunk)` (a list of file names in, a list of results
out) in a pool of forked processes and yields the results in the order of the chunks, so a run
gives the same outcome whatever the number of cores (which of two equal invoices is the
duplicate, the audit chain's head). A few chunks more than there are workers are in flight:
the workers never wait for the consumer, and memory holds those chunks, not the run.

A file that kills its worker (a parser's native code crashing on hostile input, the kernel
ending a process out of memory) breaks the pool and every chunk in flight with it. The chunks
that were in flight are then worked again one at a time, each in a fresh pool; one that breaks
that pool again is halved until the file is found, and `crashed(name)` stands for that file.
The rest of the run goes on.

Each child ends when the process that started it ends, even by kill -9. Imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
Work = Callable[[list[str]], list[T]]

_PR_SET_PDEATHSIG = 1


def workers() -> int:
    """One worker per core this process may use."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return max(1, min(usable, os.cpu_count() or 1))


def in_pool(
    chunks: Iterable[list[str]],
    work: Work[T],
    crashed: Callable[[str], list[T]],
    *,
    processes: int,
) -> Iterator[list[T]]:
    """`work(chunk)` of every chunk, in order, computed in `processes` children.

    The next chunks are handed to the pool before a result is handed to the consumer, so the
    workers parse while the consumer works on it (the importer writes): were they handed only when
    the consumer asked again, the workers would sit idle during each write and the consumer then
    wait for a whole chunk's parse, a quarter of an import's time."""
    chunks = iter(chunks)
    ahead = processes + 1
    while True:
        pool = _pool(processes)
        pending: deque[tuple[list[str], Future[list[T]]]] = deque()
        unsent: list[list[str]] = []  # a chunk the broken pool refused
        try:
            _top_up(pool, pending, chunks, ahead, work, unsent)
            while pending:
                result = pending[0][1].result()
                pending.popleft()
                _top_up(pool, pending, chunks, ahead, work, unsent)
                yield result
            return
        except BrokenProcessPool:
            pass
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        # whichever of them crashed the pool, the others did nothing wrong
        for broken in [chunk for chunk, _ in pending] + unsent:
            yield from _alone(broken, work, crashed)


def _top_up(
    pool: ProcessPoolExecutor,
    pending: deque[tuple[list[str], Future[T]]],
    chunks: Iterator[list[str]],
    ahead: int,
    work: Work[T],
    unsent: list[list[str]],
) -> None:
    """Submit chunks until `ahead` are in flight; a chunk a broken pool refuses goes to `unsent`."""
    while len(pending) < ahead and (chunk := next(chunks, None)) is not None:
        try:
            pending.append((chunk, pool.submit(work, chunk)))
        except BrokenProcessPool:
            unsent.append(chunk)
            raise


def _alone(chunk: list[str], work: Work[T], crashed: Callable[[str], list[T]]) -> Iterator[list[T]]:
    """The chunk worked in a pool of its own; halved while it breaks it, down to the file."""
    pool = _pool(1)
    try:
        yield pool.submit(work, chunk).result()
        return
    except BrokenProcessPool:
        pass
    finally:
        pool.shutdown(wait=True)
    if len(chunk) == 1:
        yield crashed(chunk[0])
        return
    half = len(chunk) // 2
    yield from _alone(chunk[:half], work, crashed)
    yield from _alone(chunk[half:], work, crashed)


def _pool(processes: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("fork")  # no re-import of __main__ in the children
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(),),
    )


# A parser makes some fifty objects a file, nearly none in cycles: the collector's default (every
# 700 new objects) spent a tenth of an import's time finding nothing. Workers, and the importer
# while it imports (`ingest`), collect less often.
COLLECT_THRESHOLD = (20_000, 50, 50)


# Workers yield the processor to the process they work for: where it writes what they parse (an
# import), the writer is the one that must never wait, and a server's requests come before them.
WORKER_NICENESS = 5


def _start_worker(parent: int) -> None:
    """What the worker inherited stays out of the collector's walks, which come less often; it
    runs at a lower priority than its parent and ends with it."""
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    gc.freeze()
    gc.set_threshold(*COLLECT_THRESHOLD)
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """The child ends when its parent ends, even by kill -9: Linux sends it SIGKILL then
    (PR_SET_PDEATHSIG; the pool is started and used by one thread, the one the signal watches);
    elsewhere a thread checks for the parent every second."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        watch_parent(parent)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def watch_parent(parent: int) -> None:
    """A thread that ends this process within a second of its parent's end (for a child that
    outlives the thread that started it, which the parent-death signal would follow)."""
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
