"""Reconciliation with the tax platform's records: runs, findings and their remedies, reports.

Requires authority (the platform's records), contingency (a run closes or opens incidents), sync
(a remedy re-queues an invoice) and auth (the web page names the user)."""

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="reconcile",
    zh="对账",
    en="Reconcile",
    requires=("auth", "authority", "contingency", "sync"),
    tables=("fapiao.reconcile.schema",),
    migrations="fapiao.reconcile.migrations",
    cli=("fapiao.reconcile.cli",),
    commands=("actions", "reconcile"),
    pages=("fapiao.reconcile.pages", "fapiao.reconcile.pages_actions"),
    api=("fapiao.reconcile.api",),
    nav=(
        NavEntry("/reconcile", "对账", "Reconcile", "write", order=40),
        NavEntry("/actions", "待办", "Actions", order=41),
    ),
    metrics=("fapiao.reconcile.metrics",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def authority_states_changed(tx: Any, changes: list[dict[str, Any]]) -> None:
    from fapiao.reconcile.remedies import settle_reuploads

    settle_reuploads(tx, changes)
