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

A file that makes its worker hang (native code looping on hostile input) would hold the run
forever. Each worker notes in shared memory which file it is on and since when; while the consumer
waits it ends a worker that has been on one file longer than `limit` seconds
(`$FAPIAO_PARSE_LIMIT_S`, 120 by default). `timed_out(name)` stands for that file, which is not
tried again, and the rest of its chunk is worked again like the chunks of a crash.

Each child ends when the process that started it ends, even by kill -9. Imports nothing of ours.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as WaitedEnough
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
Work = Callable[[list[str]], list[T]]

_PR_SET_PDEATHSIG = 1

FILE_LIMIT_S = float(os.environ.get("FAPIAO_PARSE_LIMIT_S", "120"))
WATCH_SLICE_S = 0.25  # how often a waiting consumer looks for a worker stuck on one file
_SPARE_SLOTS = 8  # board slots beyond the chunks in flight at once (chunks worked again alone)
_FIELDS = 4  # a slot: chunk number, worker pid, index of the file in the chunk, since (monotonic)


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
    timed_out: Callable[[str], list[T]] | None = None,
    limit: float | None = None,
) -> Iterator[list[T]]:
    """`work(chunk)` of every chunk, in order, computed in `processes` children.

    The next chunks are handed to the pool before a result is handed to the consumer, so the
    workers parse while the consumer works on it (the importer writes): were they handed only when
    the consumer asked again, the workers would sit idle during each write and the consumer then
    wait for a whole chunk's parse, a quarter of an import's time."""
    chunks = iter(chunks)
    ahead = processes + 1
    watch = _Watch(FILE_LIMIT_S if limit is None else limit, ahead + _SPARE_SLOTS)
    again = _Again(work, crashed, timed_out or crashed, watch)
    while True:
        pool = _pool(processes, watch)
        pending: deque[tuple[int, list[str], Future[list[T]]]] = deque()
        unsent: list[tuple[int, list[str]]] = []  # a chunk the broken pool refused
        settled = False
        done: list[T] | None = None  # the head's result, taken but not yet handed over
        try:
            _top_up(pool, pending, chunks, ahead, work, unsent, watch)
            while pending:
                done = watch.wait(pending[0][2])
                pending.popleft()
                _top_up(pool, pending, chunks, ahead, work, unsent, watch)  # may find it broken
                result, done = done, None
                yield result
            settled = True
            return
        except BrokenProcessPool:
            settled = True
        finally:
            if not settled:  # the consumer stopped (it failed, or was closed): nothing to wait for
                end_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
        if done is not None:  # finished before the pool broke: still the first in order
            yield done
        # whichever of them crashed the pool, the others did nothing wrong
        for seq, broken in [(seq, chunk) for seq, chunk, _ in pending] + unsent:
            yield from again.after_break(seq, broken)


def end_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's workers, whatever they are doing: `shutdown` can only wait for them (for
    ever, for one stuck on a file), and their handles are the executor's own."""
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill()


def _top_up(
    pool: ProcessPoolExecutor,
    pending: deque[tuple[int, list[str], Future[T]]],
    chunks: Iterator[list[str]],
    ahead: int,
    work: Work[T],
    unsent: list[tuple[int, list[str]]],
    watch: _Watch,
) -> None:
    """Submit chunks until `ahead` are in flight; a chunk a broken pool refuses goes to `unsent`."""
    while len(pending) < ahead and (chunk := next(chunks, None)) is not None:
        seq = watch.slot()
        try:
            pending.append((seq, chunk, pool.submit(_run, work, seq, chunk)))
        except BrokenProcessPool:
            unsent.append((seq, chunk))
            raise


class _Again:
    """Working again the chunks of a broken pool, each in a pool of its own."""

    def __init__(
        self,
        work: Work[T],
        crashed: Callable[[str], list[T]],
        timed_out: Callable[[str], list[T]],
        watch: _Watch,
    ) -> None:
        self.work, self.crashed, self.timed_out, self.watch = work, crashed, timed_out, watch

    def after_break(self, seq: int, chunk: list[str]) -> Iterator[list[Any]]:
        """A chunk whose pool broke: split at the file its worker was ended on, if it was the
        one that hung; worked again alone otherwise."""
        self.watch.clear(seq)  # its worker is gone: nothing there to watch or end
        stuck = self.watch.hung.pop(seq, None)
        if stuck is None:
            yield from self.alone(chunk)
            return
        yield from self.alone(chunk[:stuck])
        yield self.timed_out(chunk[stuck])
        yield from self.alone(chunk[stuck + 1 :])

    def alone(self, chunk: list[str]) -> Iterator[list[Any]]:
        """The chunk worked in a pool of its own; halved while it crashes it, down to the file."""
        if not chunk:
            return
        pool = _pool(1, self.watch)
        seq = self.watch.slot()
        try:
            yield self.watch.wait(pool.submit(_run, self.work, seq, chunk))
            return
        except BrokenProcessPool:
            self.watch.clear(seq)
        finally:
            pool.shutdown(wait=True)
        if seq in self.watch.hung:
            yield from self.after_break(seq, chunk)
        elif len(chunk) == 1:
            yield self.crashed(chunk[0])
        else:
            half = len(chunk) // 2
            yield from self.alone(chunk[:half])
            yield from self.alone(chunk[half:])


class _Watch:
    """The board the workers note their progress on, and the consumer's watch over it."""

    def __init__(self, limit: float, slots: int) -> None:
        self.limit = limit
        self.slots = slots  # chunk numbers share a slot modulo this: more than are ever in flight
        self.board = multiprocessing.get_context("fork").RawArray("d", slots * _FIELDS)
        self.next_seq = 0
        self.hung: dict[int, int] = {}  # chunk number -> index of the file its worker was ended on

    def slot(self) -> int:
        """The next chunk's number, its slot cleared of an earlier chunk's marks."""
        seq, self.next_seq = self.next_seq, self.next_seq + 1
        base = (seq % self.slots) * _FIELDS
        self.board[base : base + _FIELDS] = [float(seq), 0.0, 0.0, 0.0]
        return seq

    def clear(self, seq: int) -> None:
        """The chunk's worker is gone (its pool broke): its last marks must not be taken for a
        worker still at work, nor its pid for a process to end."""
        self.board[(seq % self.slots) * _FIELDS + 3] = 0.0

    def wait(self, future: Future[T]) -> T:
        """The future's result; meanwhile a worker past the limit on one file is ended (which
        breaks the pool: the caller then works its chunks again)."""
        while True:
            try:
                return future.result(timeout=WATCH_SLICE_S)
            except WaitedEnough:
                self._end_stuck()

    def _end_stuck(self) -> None:
        now = time.monotonic()
        for base in range(0, self.slots * _FIELDS, _FIELDS):
            seq, pid, index, since = self.board[base : base + _FIELDS]
            if since == 0.0 or now - since <= self.limit:
                continue
            if self.board[base + 2] != index:  # it moved on meanwhile
                continue
            self.board[base + 3] = 0.0
            self.hung[int(seq)] = int(index)
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)


_board: Any = None  # in a worker: the board of the pool it belongs to
_slot = -1  # in a worker: where on the board the chunk it works on is noted


def _run(work: Work[T], seq: int, chunk: list[str]) -> list[T]:
    """In a worker: `work(chunk)`, which notes each file as it takes it (`watched`)."""
    global _slot
    _slot = (seq % (len(_board) // _FIELDS)) * _FIELDS
    _board[_slot + 1] = float(os.getpid())
    try:
        return work(chunk)
    finally:
        _board[_slot + 3] = 0.0
        _slot = -1


def watched(names: Iterable[str]) -> Iterator[str]:
    """The names, each noted on the board as the worker takes it (outside a worker, as they are):
    the consumer ends a worker that stays on one file past the limit."""
    if _slot < 0:
        yield from names
        return
    board, base = _board, _slot
    for index, name in enumerate(names):
        board[base + 3] = 0.0  # first: a reader never pairs this file with the last one's start
        board[base + 2] = float(index)
        board[base + 3] = time.monotonic()
        yield name


def _pool(processes: int, watch: _Watch) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("fork")  # no re-import of __main__ in the children
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), watch.board),
    )


# A parser makes some fifty objects a file, nearly none in cycles: the collector's default (every
# 700 new objects) spent a tenth of an import's time finding nothing. A worker collects once its
# objects outnumber the freed by this many: more than a chunk of JSON or XML invoices holds until
# it is sent (at 20,000 each worker walked its chunks twelve times in a 50,000-file import, 0.13-
# 0.18 s; now not once), still few enough that a parser's cycles cannot pile up. (The importer,
# while it writes, collects only between batches: `ingest.COLLECT_EVERY`.)
COLLECT_THRESHOLD = (100_000, 50, 50)


# Workers yield the processor to the process they work for: where it writes what they parse (an
# import), the writer is the one that must never wait, and a server's requests come before them.
WORKER_NICENESS = 5


def _start_worker(parent: int, board: Any) -> None:
    """What the worker inherited stays out of the collector's walks, which come less often; it
    runs at a lower priority than its parent and ends with it."""
    global _board
    _board = board
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    gc.freeze()
    gc.set_threshold(*COLLECT_THRESHOLD)
    gc.enable()  # (a parent that forked while it held its collector off)
    die_with_parent(parent)


def die_with_parent(parent: int) -> None:
    """The child ends when its parent ends, even by kill -9: Linux sends it SIGKILL then
    (PR_SET_PDEATHSIG; the pool is started and used by one thread, the one the signal watches);
    elsewhere `die_with`."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        die_with(parent)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)


def die_with(pid: int) -> None:
    """This process ends as soon as process `pid` ends, even by kill -9: a thread waits on the
    process's pidfd (Linux), or else checks for it every second. Unlike the parent-death signal it
    follows a process, not the thread that started this one, and any process, not only the parent
    (a job forked by a fork server, whose parent outlives the server that asked for the job)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)  # it has ended already
    except (OSError, AttributeError):
        threading.Thread(target=_poll_for, args=(pid,), daemon=True).start()
        return
    threading.Thread(target=_wait_on, args=(handle,), daemon=True).start()


def _wait_on(pidfd: int) -> None:
    select.select([pidfd], [], [])  # readable once the process has ended
    os._exit(1)


def _poll_for(pid: int) -> None:
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        time.sleep(1.0)
