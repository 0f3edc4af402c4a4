"""Sync with the tax platform: the outbox, the worker, the circuit breaker, the `sync` command.

Requires authority (the connector), contingency (a paused tenant is not sent; an open breaker opens
an incident) and ops (the operation log; the self-check's frame its checks plug into)."""

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl
from fapiao.sync import outbox

CAPABILITY = Capability(
    name="sync",
    zh="税务平台同步",
    en="Sync with the tax platform",
    requires=("authority", "contingency", "ops"),
    tables=("fapiao.sync.tables",),
    migrations="fapiao.sync.migrations",
    cli=("fapiao.sync.cli",),
    commands=("issue", "sync"),
    pages=("fapiao.sync.pages",),
    api=("fapiao.sync.api",),
    nav=(NavEntry("/outbox", "发件箱", "Outbox", order=42),),
    checks=("fapiao.sync.checks",),
    metrics=("fapiao.sync.metrics",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


# --- the ledger's write path -----------------------------------------------------------------------


@hookimpl
def authority_state_on_import(tx: Any) -> Any:
    return outbox.state_on_import


@hookimpl(tryfirst=True)  # before the other subscribers, so the events keep the order they had
def invoices_recorded(tx: Any, rows: list[dict[str, Any]]) -> None:
    outbox.enqueue_imported(tx, rows)
