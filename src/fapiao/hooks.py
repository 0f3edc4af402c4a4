"""The points where capabilities take part in the core's work (pluggy, as pytest and datasette use it).

The core calls a hook; each capability's `plugin.py` may implement it with `@hookimpl`. The core thus
imports nothing above it: the ledger does not know that an outbox exists, only that someone may want
to act, inside its write transaction, on the invoices it has just recorded.

Hooks that run inside a write transaction (`invoices_recorded`) must do their work on the connection
they are given and raise to roll the whole write back; hooks called after a commit (`after_import`)
must not fail the operation that already happened.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "fapiao"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Specs:
    """The hook specifications. Arguments are passed by keyword; an implementation may take fewer."""

    @hookspec
    def fapiao_capability(self) -> Any:
        """Return this plugin's `fapiao.capability.Capability` declaration."""

    @hookspec(firstresult=True)
    def authority_state_on_import(self, tx: Any) -> Any:
        """How invoices about to be recorded start toward the tax platform: a function taking an
        invoice row and returning its `authority_state`; the first plugin that answers decides,
        and with none the invoices stay `local`.

        Asked once per write and the function applied to each row, because the import path
        records tens of thousands of rows a second and a hook call per row would cost more than
        the row. The state must be known before the row is inserted: the row's hash, recorded in
        its `invoice.imported` event, covers it."""

    @hookspec
    def invoices_recorded(self, tx: Any, rows: list[dict[str, Any]], actor: str) -> None:
        """Invoices were inserted into the ledger; `tx` is the open write transaction.

        `rows` are the invoice rows as inserted (with `id`, `tenant_id`, `direction`, `key`, …).
        Implementations write in the same transaction (the outbox entry, the 补开 a re-issued
        invoice closes), so that no invoice is ever recorded without them."""

    @hookspec
    def authority_states_changed(self, tx: Any, changes: list[dict[str, Any]]) -> None:
        """Invoices' `authority_state` changed (the outbox's worker, a remedy); `tx` is the open
        write transaction. Each change: `invoice_id`, `tenant_id`, `identity_key`,
        `authority_state` (new) and `previous`. Implementations write in the same transaction
        (a re-upload the platform confirmed resolves its reconcile action)."""

    @hookspec(firstresult=True)
    def deduction_selections(
        self, engine: Any, tenant_id: int, keys: list[str]
    ) -> dict[str, tuple[str, str]] | None:
        """The ledger's 勾选 of the tenant's invoices among `keys` (identity keys): for each
        selected one, key -> (税款所属期 `YYYY-MM`, purpose `deduct` | `no_deduct`); a key not
        selected is absent. None when no capability keeps 勾选: reconcile then compares no 勾选
        state, rather than taking every invoice for unselected."""

    @hookspec
    def source_formats(self) -> list[Any] | None:
        """Formats of input files this capability reads, beside the parse package's own: modules
        with `sniff(data) -> bool` and `parse(data) -> list[Parsed]` as in `fapiao.parse` (and its
        optional `PRIORITY` and `SOURCE`). The import tries them all in PRIORITY order
        (`fapiao.ingest.source_formats`)."""

    @hookspec
    def after_import(
        self, ledger: Any, recorded: list[dict[str, Any]], actor: str, options: dict[str, Any]
    ) -> list[Any] | None:
        """After an import committed: 查验 of received invoices, notices (the search index has
        caught up already).

        Called by the CLI and the web alike through `fapiao.ingest.after_import`. `recorded` are
        the imported invoices (`id`, `file`, `code`, `number`); `options` the caller's choices
        (`verify`: True/False overrides the setting, None leaves it). An implementation may
        return a list of reports (objects with `to_json()`, e.g. 查验 outcomes). Failures are
        recorded by the implementation; they never undo the import."""

    @hookspec
    def notify(self, engine: Any, event: str, tenant_id: int | None, facts: dict[str, Any]) -> None:
        """Something people should hear about happened (`reconcile.findings`, `sync.breaker_open`…).

        Implementations only queue the message (an outbox), so a channel that is down never fails or
        slows the operation that raised the event."""

    @hookspec
    def serve_started(self, db: str | None) -> None:
        """`fapiao serve` is starting: start background threads (delivery, schedules) as daemons.

        Called once in the serving process, whatever the number of web workers; an
        implementation must return at once and never take the server down."""
