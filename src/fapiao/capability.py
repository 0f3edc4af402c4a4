"""What a capability declares: the one place that says what it adds to fapiao.

A capability (sync, reconcile, backup, notifications, …) is one folder with a `plugin.py`. That
module holds a `CAPABILITY = Capability(...)` naming, as dotted module paths, everything the
capability brings — its tables, migrations, CLI commands, web pages, API routes, checks, metrics,
finding codes and notification events — and the pluggy hook implementations through which it takes
part in the core's work (see `fapiao.hooks`). The edges (`cli`, `web`) and the schema build
themselves from these declarations; nothing keeps a second list by hand.

Modules are named as strings so that declaring a capability imports nothing heavy: the CLI does not
load FastAPI, the web does not load Typer. `fapiao.plugins.check_declarations` imports every name at
start, so a missing module is an error there, never a silent skip.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """A notification event a capability may raise (`reconcile.findings`, `sync.breaker_open`)."""

    name: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class NavEntry:
    """An entry of the web's navigation bar: path, Chinese and English label, permission needed."""

    path: str
    zh: str
    en: str
    permission: str = "read"
    order: int = 50


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability's declaration. Every module field is a tuple of dotted module paths.

    - `requires`: other capabilities this one may import (a declared dependency); any other
      capability it may reach only through hooks.
    - `tables`: modules defining its tables on `fapiao.ledger.schema.metadata` (declared once).
    - `migrations`: the folder of its Alembic revisions, as a package path (`fapiao.sync.migrations`).
    - `cli`: modules that register Typer commands when imported (they use `fapiao.cli.base.app`).
    - `pages` / `api`: modules exposing a FastAPI `router` (server-rendered pages; `/api/v1` routes),
      and optionally `install(app)` for what a router cannot carry (middleware, exception handlers,
      shutdown work, dashboard panels).
    - `nav`: entries of the web's navigation bar.
    - `checks`: modules exposing `CHECKS: dict[str, Callable[[Probe], Check]]` for the self-check.
    - `metrics`: modules exposing `collect(engine) -> Iterable[metric family]` for /metrics.
    - `findings`: modules exposing `CODES` of the finding codes it emits, in the form of
      `fapiao.findings.CATALOG` (code -> (severity, Chinese template, English template)).
    - `events`: the notification events it raises.
    """

    name: str
    zh: str
    en: str
    requires: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    migrations: str | None = None
    cli: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    checks: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()

    def modules(self) -> tuple[str, ...]:
        """Every module this declaration names (checked at start)."""
        return (
            self.tables
            + self.cli
            + self.pages
            + self.api
            + self.checks
            + self.metrics
            + self.findings
        )
