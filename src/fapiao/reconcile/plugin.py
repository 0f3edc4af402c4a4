"""Reconciliation with the tax platform's records: runs, findings and their remedies, reports.

Requires authority (the platform's records), contingency (a run closes or opens incidents), sync
(a remedy re-queues an invoice) and auth (the web page names the user)."""

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
    pages=("fapiao.reconcile.pages",),
    api=("fapiao.reconcile.api",),
    nav=(NavEntry("/reconcile", "对账", "Reconcile", "write", order=40),),
    metrics=("fapiao.reconcile.metrics",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
