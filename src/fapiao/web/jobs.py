"""Heavy requests (reconcile, imports, orders, reports, exports) run here, off the event loop: a
bounded pool of worker threads with a queue limit and a time budget per job.

- At most `FAPIAO_WEB_JOBS` (2) jobs run at once per server process; a request waits at most
  `FAPIAO_WEB_JOB_QUEUE_S` (30 s) for a place, then gets 503 `busy`.
- A job may run `FAPIAO_WEB_JOB_BUDGET_S` (600 s). Past that the request answers 503 `job_timeout`
  and the job is called off: long loops call `fapiao.deadline.check()`, which raises once the budget
  is spent or the waiting request has gone (client left, server stopping), so the thread ends.
  A place in the pool is given back only when its thread has really ended, so an overrunning job
  still counts against the size.
- Threads are daemons: a SIGTERM stops the server after uvicorn's graceful timeout even when a job
  is still inside code that cannot check its budget (a database query).

The event loop only waits on a future, so `/healthz` and light requests keep answering while jobs
run; CPU-heavy work in the jobs shares the interpreter with it, which Python switches every 5 ms.

The heaviest job (the reconcile of a 1,000,000-row export) holds the interpreter for up to a second
in single C-level steps, so it runs in a child process instead (`run_in_process`): same places, same
queue and budget, but the server's interpreter only waits on a pipe. The child is forked from a fork
server (`forkserver`): a fresh interpreter started once, on the first such job, with the jobs'
modules already imported (`preload`), so the child has no copy of the server's threads or locks and
starts in milliseconds (a fresh interpreter for each job took 1–2 s to import them, counted against
the budget); arguments and result must pickle; a `Problem` raised in it is raised again here. Past
the budget, or when the request is called off, the child is killed, and its place is given back once
it has ended. The child ends when the server ends, however that ends (it waits on the server's
pidfd), and the fork server once the server and its children are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from fapiao import collector, deadline
from fapiao.pool import die_with
from fapiao.telemetry import logs as oplog
from fapiao.web.security import Problem

T = TypeVar("T")
SIZE = int(os.environ.get("FAPIAO_WEB_JOBS", "2"))
QUEUE_S = float(os.environ.get("FAPIAO_WEB_JOB_QUEUE_S", "30"))
BUDGET_S = float(os.environ.get("FAPIAO_WEB_JOB_BUDGET_S", "600"))
GRACE_S = 5.0  # after the budget, time for the job to notice before the request gives up


class Pool:
    def __init__(self, size: int = SIZE, queue_s: float = QUEUE_S, budget_s: float = BUDGET_S):
        self.size, self.queue_s, self.budget_s = max(1, size), queue_s, budget_s
        self._lock = threading.Lock()
        self.running = 0

    def _take(self) -> bool:
        with self._lock:
            if self.running >= self.size:
                return False
            self.running += 1
            return True

    def _give(self) -> None:
        with self._lock:
            self.running -= 1

    async def _admit(self) -> None:
        """Wait for a place (polling: places are given back from job threads, under any loop)."""
        waited = 0.0
        while not self._take():
            if waited >= self.queue_s:
                raise Problem(
                    503,
                    "busy",
                    "服务器正在处理其他大任务，请稍后重试",
                    "the server is busy with other large jobs: retry in a moment",
                )
            await asyncio.sleep(0.05)
            waited += 0.05

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in a job thread, within the budget; its result or its exception."""
        await self._admit()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        budget = deadline.Budget(self.budget_s)
        context = contextvars.copy_context()  # request id and log fields follow the job

        def settle(ok: bool, value: Any) -> None:
            if done.cancelled() or done.done():
                return
            if ok:
                done.set_result(value)
            else:
                done.set_exception(value)

        def work() -> None:
            try:
                with deadline.within(budget), collector.paused():
                    value, ok = fn(*args, **kwargs), True
            except BaseException as exc:  # handed to the waiting request
                value, ok = exc, False
            finally:
                self._give()
                _active.discard((thread, budget))
            with contextlib.suppress(RuntimeError):  # the loop has closed: the server stopped
                loop.call_soon_threadsafe(settle, ok, value)

        thread = threading.Thread(target=context.run, args=(work,), name="fapiao-job", daemon=True)
        _active.add((thread, budget))
        thread.start()
        try:
            async with asyncio.timeout(self.budget_s + GRACE_S):
                return await asyncio.shield(done)
        except TimeoutError:
            budget.cancelled.set()
            raise overrun(self.budget_s) from None
        except deadline.Expired:
            raise overrun(self.budget_s) from None
        except asyncio.CancelledError:
            budget.cancelled.set()
            raise

    async def run_in_process(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a child process, within the budget; its result or its `Problem`."""
        await self._admit()
        try:
            ctx = _context()
            if not _warm:  # the first job starts the fork server: a thread's wait, not the loop's
                await asyncio.to_thread(_warm_up, ctx)
            receive, send = ctx.Pipe(duplex=False)
            setup = (os.getpid(), oplog.level_name(), oplog.bound_values())
            child = ctx.Process(
                target=_child, args=(send, setup, fn, args), name="fapiao-job", daemon=True
            )
            child.start()  # the fork server forks it: milliseconds
        except BaseException:
            self._give()
            raise
        send.close()  # the child holds the only writer: end of file once it is gone
        _children.add(child)
        outcome: tuple[str, Any] = ("died", None)
        try:
            async with asyncio.timeout(self.budget_s):
                outcome = await _received(receive)
        except TimeoutError:
            raise overrun(self.budget_s) from None
        finally:
            receive.close()
            self._reap(child, kill=outcome[0] == "died")
        return _unpack(outcome, child)

    def _reap(self, child: BaseProcess, *, kill: bool) -> None:
        """Kill the child if it has not answered; give its place back once it has ended."""
        if kill:
            child.kill()

        def wait() -> None:
            child.join()
            _children.discard(child)
            self._give()

        threading.Thread(target=wait, name="fapiao-job-reaper", daemon=True).start()


async def _received(conn: Connection) -> tuple[str, Any]:
    """The child's one message, read once the pipe is readable (so the loop never blocks on it);
    ("died", None) when the child ended without one."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(fd)
    # uvloop leaves the pipe non-blocking: a message longer than the pipe's buffer would then be
    # cut at its first chunk. The child writes its one message in one go, so the loop waits only
    # the milliseconds that takes.
    os.set_blocking(fd, True)
    try:
        message: tuple[str, Any] = conn.recv()
    except (EOFError, OSError):
        return ("died", None)
    return message


def _unpack(outcome: tuple[str, Any], child: BaseProcess) -> Any:
    kind, value = outcome
    if kind == "ok":
        return value
    if kind == "problem":
        raise Problem(*value)
    if kind == "error":
        raise JobFailed(value)
    raise JobFailed(f"the job's process {child.pid} ended without an answer")


class JobFailed(RuntimeError):
    """A job in a child process raised something other than a `Problem` (a bug): its traceback."""


_PRELOAD = {__name__}


def preload(module: str) -> None:
    """Have the fork server import `module` (one that holds a job run by `run_in_process`) before
    it forks the first child: called when the module that runs such jobs is imported, before any
    job has started the fork server."""
    _PRELOAD.add(module)


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(sorted(_PRELOAD))  # read once, when the fork server starts
    return ctx


_warm = False
_warm_lock = threading.Lock()


def _warm_up(ctx: Any) -> None:
    """Start the fork server and wait until it can fork: its first fork waits until it has
    imported the jobs' modules (a second or two), and would hold the event loop that long."""
    global _warm
    with _warm_lock:
        if not _warm:
            first = ctx.Process(target=int, name="fapiao-job-warm-up", daemon=True)
            first.start()
            first.join()
            _warm = True


def _child(
    send: Connection, setup: tuple[int, str | None, dict[str, Any]], fn: Any, args: Any
) -> None:
    """The child's whole life: run `fn`, send one message, end."""
    server, level, values = setup
    die_with(server)  # the server killed with no chance to clean up: the job ends too
    gc.disable()  # one job, then the process ends: its heap is dropped, never collected
    if level:
        oplog.configure(default_level=level)
    try:
        with oplog.bound(**values):
            message: tuple[str, Any] = ("ok", fn(*args))
    except Problem as problem:
        message = ("problem", (problem.status, problem.code, problem.zh, problem.en))
    except BaseException as exc:
        message = ("error", "".join(traceback.format_exception(exc)))
    try:
        send.send(message)
    except Exception as exc:  # a result that does not pickle: a bug in the job
        send.send(("error", f"the job's result cannot be sent: {exc!r}"))
    send.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # freeing millions of objects one by one takes seconds nobody waits for


def overrun(seconds: float) -> Problem:
    return Problem(
        503,
        "job_timeout",
        f"任务超过 {seconds:g} 秒的时限，已停止；请缩小范围（期间、文件）后重试",
        f"the job ran over its {seconds:g} s budget and was stopped: retry with a smaller period or file",
    )


_default: Pool | None = None
_active: set[tuple[threading.Thread, deadline.Budget]] = set()
_children: set[BaseProcess] = set()


def stop_all(wait_s: float = 2.0) -> None:
    """Call off every running job and give them `wait_s` to end (and clean up after themselves):
    for a server that is stopping."""
    running = list(_active)
    for _, budget in running:
        budget.cancelled.set()
    children = list(_children)
    for child in children:
        child.kill()
    end = time.monotonic() + wait_s
    for thread, _ in running:
        thread.join(max(0.0, end - time.monotonic()))
    for child in children:
        child.join(max(0.0, end - time.monotonic()))


def pool() -> Pool:
    """The process's pool (one per server process, whatever the app or loop)."""
    global _default
    if _default is None:
        _default = Pool()
    return _default


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await pool().run(fn, *args, **kwargs)


async def run_in_process(fn: Callable[..., T], *args: Any) -> T:
    return await pool().run_in_process(fn, *args)
