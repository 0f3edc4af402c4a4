"""Sync with the tax platform: the outbox, the worker, the circuit breaker, the `sync` command.

Requires authority (the connector), contingency (a paused tenant is not sent; an open breaker opens
an incident) and ops (the operation log; the self-check's frame its checks plug into)."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="sync",
    zh="税务平台同步",
    en="Sync with the tax platform",
    requires=("authority", "contingency", "ops"),
    tables=("fapiao.sync.tables",),
    migrations="fapiao.sync.migrations",
    cli=("fapiao.sync.cli",),
    checks=("fapiao.sync.checks",),
    metrics=("fapiao.sync.metrics",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
