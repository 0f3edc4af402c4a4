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
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from fapiao import deadline
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
                with deadline.within(budget), _collector_paused():
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


def overrun(seconds: float) -> Problem:
    return Problem(
        503,
        "job_timeout",
        f"任务超过 {seconds:g} 秒的时限，已停止；请缩小范围（期间、文件）后重试",
        f"the job ran over its {seconds:g} s budget and was stopped: retry with a smaller period or file",
    )


_default: Pool | None = None
_paused = 0
_paused_lock = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector waits while jobs run. A job holding millions of objects (a
    1,000,000-row export) makes each full collection a pause of seconds for every thread, the
    event loop's too; reference counting still frees nearly everything, and the cycles left are
    collected when the last job ends, once its objects are gone."""
    global _paused
    with _paused_lock:
        _paused += 1
        gc.disable()
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0:
                gc.enable()


_active: set[tuple[threading.Thread, deadline.Budget]] = set()


def stop_all(wait_s: float = 2.0) -> None:
    """Call off every running job and give them `wait_s` to end (and clean up after themselves):
    for a server that is stopping."""
    running = list(_active)
    for _, budget in running:
        budget.cancelled.set()
    end = time.monotonic() + wait_s
    for thread, _ in running:
        thread.join(max(0.0, end - time.monotonic()))


def pool() -> Pool:
    """The process's pool (one per server process, whatever the app or loop)."""
    global _default
    if _default is None:
        _default = Pool()
    return _default


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await pool().run(fn, *args, **kwargs)
