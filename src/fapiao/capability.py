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
class StateValue:
    """One value of a listed state (`booked`, `unbooked`): the `--state` / `state=` filter code,
    its words, and the SQL condition that holds for the listing's invoice row `i` when the invoice
    is in this state. The condition must reach the capability's table through an indexed key
    (`EXISTS (SELECT 1 FROM bookings b WHERE b.invoice_id = i.id)`): listings run it per row."""

    code: str
    zh: str
    en: str
    where: str
    # the invoice ids in this state (`SELECT invoice_id FROM bookings`), when the capability's
    # table can list them: a listing filtered on a state few invoices are in reads them from here
    # and sorts those few, instead of probing every invoice in order for the rare one
    ids: str = ""


@dataclass(frozen=True, slots=True)
class StateField:
    """A detail of a listed state (凭证号, 报销单号): its key in the row's JSON, a SQL expression over
    the state's join (`{a}` names the joined table), its column words, and for coded values the
    words of each code (`words`: code -> (zh, en)). `kind` "bool": the SQL yields 1/0/NULL and the
    JSON true/false/null, the words keyed "true"/"false"; "fen": an amount in fen, "113.00" in
    the JSON. `brief`: shown in the list's cell."""

    key: str
    sql: str
    zh: str
    en: str
    kind: str = "text"
    words: tuple[tuple[str, str, str], ...] = ()
    brief: bool = True


@dataclass(frozen=True, slots=True)
class ListState:
    """A state a capability keeps beside each invoice (入账状态, 报销状态, 勾选状态, 红冲状态) that
    the core's listings show as a column and filter on, without knowing the capability.

    `name` is the key in listing rows (JSON), the export column and the `include=` word; `zh`/`en`
    the column's header. `values` are the states an invoice can be in (an invoice in none of them,
    such as an issued invoice for 入账, has no state: null). `join` is a LEFT JOIN on a unique
    indexed key, with `{a}` for the alias the listing gives it, joined only when the column is
    asked for; `fields` read from it."""

    name: str
    zh: str
    en: str
    values: tuple[StateValue, ...]
    join: str = ""
    fields: tuple[StateField, ...] = ()
    order: int = 50


@dataclass(frozen=True, slots=True)
class Capability:
    """One capability's declaration. Every module field is a tuple of dotted module paths.

    - `requires`: other capabilities this one may import (a declared dependency); any other
      capability it may reach only through hooks.
    - `tables`: modules defining its tables on `fapiao.ledger.schema.metadata` (declared once).
    - `migrations`: the folder of its Alembic revisions, as a package path (`fapiao.sync.migrations`).
    - `cli`: modules that register Typer commands when imported (they use `fapiao.cli.base.app`).
    - `commands`: the first words of those commands (`deduct` for `fapiao deduct select`): the
      console script imports only the modules of the command it runs (`fapiao.cli.commands`).
    - `pages` / `api`: modules exposing a FastAPI `router` (server-rendered pages; `/api/v1` routes),
      and optionally `install(app)` for what a router cannot carry (middleware, exception handlers,
      shutdown work, dashboard panels).
    - `nav`: entries of the web's navigation bar.
    - `checks`: modules exposing `CHECKS: dict[str, Callable[[Probe], Check]]` for the self-check.
    - `metrics`: modules exposing `collect(engine) -> Iterable[metric family]` for /metrics.
    - `findings`: modules exposing `CODES` of the finding codes it emits, in the form of
      `fapiao.findings.CATALOG` (code -> (severity, Chinese template, English template)).
    - `events`: the notification events it raises.
    - `states`: the states it keeps beside invoices, shown and filtered in every listing.
    """

    name: str
    zh: str
    en: str
    requires: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    migrations: str | None = None
    cli: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    nav: tuple[NavEntry, ...] = ()
    checks: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    states: tuple[ListState, ...] = ()

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
