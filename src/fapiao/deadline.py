"""A time budget for long work, checked at safe points (every few thousand rows).

The web runs heavy requests in worker threads (`fapiao.web.jobs`); a thread cannot be stopped from
outside, so work that may run long calls `check()` between rows: once the budget is spent, or the
request that waits for the work has gone (timed out, client left, server stopping), `Expired` is
raised and the thread ends. Outside such a job (the CLI) `check()` costs one lookup and never raises.
Imports nothing of ours.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


class Expired(Exception):
    """The budget of the running job is spent, or the job was called off."""


@dataclass(eq=False)  # compared (and hashed) by identity
class Budget:
    seconds: float
    started: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def over(self) -> bool:
        return self.cancelled.is_set() or time.monotonic() - self.started > self.seconds


_current: ContextVar[Budget | None] = ContextVar("fapiao_budget", default=None)


@contextmanager
def within(budget: Budget) -> Iterator[Budget]:
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def check() -> None:
    budget = _current.get()
    if budget is not None and budget.over():
        raise Expired(f"over the budget of {budget.seconds:g} s or called off")
