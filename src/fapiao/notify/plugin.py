"""Notifications, declared: the events people may subscribe to, the tables, commands and page, and
the two hooks through which it takes part: `notify` (queue a message) and `serve_started` (start the
deliverer)."""

from __future__ import annotations

from typing import Any

from fapiao.capability import Capability, NavEntry
from fapiao.hooks import hookimpl
from fapiao.notify.events import EVENTS

CAPABILITY = Capability(
    name="notify",
    zh="通知",
    en="Notifications",
    requires=("ops",),  # its self-check is one of ops' Check records
    tables=("fapiao.notify.tables",),
    migrations="fapiao.notify.migrations",
    cli=("fapiao.notify.cli",),
    commands=("notify",),
    checks=("fapiao.notify.checks",),
    metrics=("fapiao.notify.metrics",),
    pages=("fapiao.notify.pages",),
    nav=(NavEntry("/notify", "通知订阅", "Notifications", "read", order=87),),
    events=EVENTS,
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY


@hookimpl
def notify(engine: Any, event: str, tenant_id: int | None, facts: dict[str, Any]) -> None:
    """Queue only: one INSERT per channel a rule names; delivery happens elsewhere, later."""
    from fapiao.notify.outbox import enqueue

    try:
        enqueue(engine, event, tenant_id, facts)
    except Exception as exc:  # a notification must never fail what raised it
        from fapiao.telemetry import logs

        logs.logger().error(
            "notify.not_queued", event_name=event, error=f"{type(exc).__name__}: {exc}"[:300]
        )


@hookimpl
def serve_started(db: str | None) -> None:
    from fapiao.notify import deliver

    deliver.start(db)
