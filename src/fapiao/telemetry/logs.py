"""Structured logs with structlog: one JSON object a line when not on a terminal, readable lines on
one. Every operation is logged with who (`actor`), tenant, what, invoice identity, duration and
outcome; a request id (`request_id`) is bound for each web request and each outbox job, so every
line written while serving it carries the same id.

Settings: `FAPIAO_LOG_LEVEL` (default info for `serve`, warning for other commands),
`FAPIAO_LOG` (a file to append to; default standard error), `FAPIAO_LOG_FORMAT` (`json` or
`console`; default: console on a terminal, json elsewhere).

This module imports nothing of fapiao's, so the ledger's write path (below every capability) can
report to it. structlog itself (70 ms to load, with the console renderer's rich) is loaded when a
line is first written or a value bound: most commands, at the warning level, never write one.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_state: dict[str, Any] = {"level": logging.WARNING, "configured": False, "ready": False}


def configure(
    *, default_level: str = "warning", stream: TextIO | None = None, force: bool = False
) -> None:
    """Set up structlog once per process (again with `force` or an explicit stream)."""
    if _state["configured"] and stream is None and not force:
        return
    name = os.environ.get("FAPIAO_LOG_LEVEL", default_level).upper()
    level = logging.getLevelNamesMapping().get(name, logging.INFO)
    path = os.environ.get("FAPIAO_LOG")
    out: TextIO = stream or (open(path, "a", encoding="utf-8", buffering=1) if path else sys.stderr)  # noqa: SIM115
    fmt = os.environ.get("FAPIAO_LOG_FORMAT") or ("console" if out.isatty() else "json")
    _state.update(level=level, configured=True, out=out, fmt=fmt, ready=False)


def _structlog() -> Any:
    """structlog, set up as `configure` said (once, and again after it is called again)."""
    import structlog

    if _state["ready"] or not _state["configured"]:
        return structlog
    render: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if _state["fmt"] == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            render,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_state["level"]),
        logger_factory=structlog.PrintLoggerFactory(_state["out"]),
        cache_logger_on_first_use=False,
    )
    _state["ready"] = True
    return structlog


def enabled(level: int = logging.INFO) -> bool:
    return _state["configured"] and level >= _state["level"]


def level_name() -> str | None:
    """The configured level (None before `configure`): a child process logs as its parent does."""
    return logging.getLevelName(_state["level"]) if _state["configured"] else None


def bound_values() -> dict[str, Any]:
    """The values bound in this context (request id …), to bind again in a child process."""
    return dict(_structlog().contextvars.get_contextvars())


def logger() -> Any:
    return _structlog().get_logger("fapiao")


def new_id() -> str:
    return uuid.uuid4().hex[:16]


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind values (request_id, user, tenant …) to every log line written inside the block."""
    contextvars = _structlog().contextvars
    tokens = contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        contextvars.reset_contextvars(**tokens)


def current(name: str) -> Any:
    return _structlog().contextvars.get_contextvars().get(name)


def start_job(kind: str, **values: Any) -> str:
    """A new job id for work not started by a request (an outbox round): bound until the next job."""
    job = new_id()
    _structlog().contextvars.bind_contextvars(request_id=job, job=kind)
    if enabled():
        logger().info("job.started", job=kind, **values)
    return job


# --- the ledger's write transactions ------------------------------------------------------------


class WriteLog:
    """Collects what a write transaction did; logged when it ends (see `write_logged`)."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []


@contextmanager
def write_logged(actor: str) -> Iterator[WriteLog]:
    """Wraps one `Ledger.write()`: logs actor, tenants, actions, invoices, duration and outcome."""
    record = WriteLog()
    started = time.perf_counter()
    try:
        yield record
    except BaseException as exc:
        if enabled():
            logger().info(
                "ledger.write",
                actor=actor,
                outcome="rolled_back",
                error=f"{type(exc).__name__}: {str(exc)[:300]}",
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        raise
    if enabled() and record.events:
        logger().info("ledger.write", **summarise(actor, record.events, started))


def summarise(actor: str, events: list[dict[str, Any]], started: float) -> dict[str, Any]:
    actions = Counter(e["action"] for e in events)
    tenants = sorted({e["tenant_id"] for e in events if e.get("tenant_id") is not None})
    invoices = [e["entity_id"] for e in events if e.get("entity") == "invoice"]
    return {
        "actor": actor,
        "tenants": tenants,
        "what": dict(actions),
        "invoices": invoices[:20],
        "invoice_count": len(invoices),
        "events": len(events),
        "first_seq": events[0]["seq"],
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "outcome": "committed",
    }
