"""Validation: rules that return findings. Imports only the model, money and findings.

Each module in this package is one concern and defines `check(inv, ctx) -> Iterable[Finding]`;
`validate` runs every rule found by walking the package, so adding a rule is adding a module.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from fapiao.findings import Finding
from fapiao.model import Invoice

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_china() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know beyond the invoice: the date it is checked on (Asia/Shanghai)."""

    today: dt.date = field(default_factory=today_in_china)


Rule = Callable[[Invoice, Context], Iterable[Finding]]


def _discover() -> tuple[tuple[str, Rule], ...]:
    rules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        check = getattr(module, "check", None)
        if callable(check):
            rules.append((info.name, check))
    return tuple(rules)


RULES: tuple[tuple[str, Rule], ...] = _discover()


def validate(inv: Invoice, ctx: Context | None = None) -> list[Finding]:
    """Run every rule; the result is empty for a valid invoice."""
    context = ctx or Context()
    out: list[Finding] = []
    for _name, rule in RULES:
        out.extend(rule(inv, context))
    return out
