"""All-or-nothing requests: refuse inside a write, roll it back, hand the findings back as values.

A capability checks everything inside `Ledger.write()` (under the ledger lock) and raises `Refused`
(a `fapiao.findings.Refusal`) with its findings when anything fails; the transaction rolls back, so
nothing changed, and the function decorated with `refusing` returns `([], findings)` instead of
raising.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from fapiao.findings import Finding, Refusal, finding

P = ParamSpec("P")
T = TypeVar("T")


class Refused(Refusal):
    """Raised inside a write to roll it back; carries every finding that says why (the first is
    the refusal's own, so the CLI and the web answer it like any other `Refusal`)."""

    def __init__(self, problems: list[Finding]) -> None:
        super().__init__(problems[0] if problems else finding("state", detail="refused"))
        self.problems = problems or [self.finding]


def refusing(
    fn: Callable[P, tuple[list[T], list[Finding]]],
) -> Callable[P, tuple[list[T], list[Finding]]]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kw: P.kwargs) -> tuple[list[T], list[Finding]]:
        try:
            return fn(*args, **kw)
        except Refused as exc:
            return [], exc.problems

    return wrapper
