"""Contingency (应急): incidents, paused issuing, manual paper invoices, 补开, orders.

Requires reconcile (a 补开 closes its reconcile action) and sync (incidents read the outbox)."""

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.contingency.reissue import arrived
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="contingency",
    zh="应急",
    en="Contingency",
    requires=("reconcile", "sync"),
    tables=("fapiao.contingency.tables",),
    migrations="fapiao.contingency.migrations",
    cli=("fapiao.contingency.cli",),
    commands=("incident", "manual", "orders", "pause", "reissue", "resume"),
    pages=("fapiao.contingency.pages",),
    nav=(NavEntry("/contingency", "应急", "Contingency", order=60),),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


# --- the ledger's write path -----------------------------------------------------------------------


@hookimpl
def invoices_recorded(tx: Any, rows: list[dict[str, Any]]) -> None:
    arrived(tx, rows)  # a re-issued invoice closes its 补开 request
