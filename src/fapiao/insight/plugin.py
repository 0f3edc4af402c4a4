"""Insight: 查验 (verification), categories, statistics, matching invoices to payments.

Requires authority (查验 asks the platform), reconcile (matching offers its remedies) and auth (the
pages name the user)."""

from __future__ import annotations

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="insight",
    zh="查验与统计",
    en="Verification and statistics",
    requires=("auth", "authority", "reconcile"),
    tables=("fapiao.insight.tables",),
    migrations="fapiao.insight.migrations",
    cli=("fapiao.insight.cli",),
    commands=("classify", "match", "stats", "verify"),
    pages=("fapiao.insight.pages",),
    nav=(
        NavEntry("/insight/stats", "统计", "Statistics", order=40),
        NavEntry("/insight/match", "对票", "Matching", order=45),
    ),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def after_import(
    ledger: Any, recorded: list[dict[str, Any]], options: dict[str, Any]
) -> list[Any] | None:
    """查验 on receipt: the received invoices just imported, when $FAPIAO_VERIFY_ON_IMPORT (or
    the caller's `verify`) says so and an authority is configured."""
    from fapiao.insight import settings
    from fapiao.insight.verify import received_only, verify_at

    wanted = options.get("verify")
    if wanted is None:
        wanted = settings.flag(settings.VERIFY_ON_IMPORT)
    url = settings.AUTHORITY.get()
    if not wanted or not url:
        return None
    ids = received_only(ledger.engine, [r["id"] for r in recorded])
    return verify_at(ledger, url, ids) if ids else None
