"""The registry of capabilities: the built-in ones, then any installed under the `fapiao` entry point.

In the manner of datasette's DEFAULT_PLUGINS: every built-in capability is a `plugin.py` named here
by its dotted path, registered on one pluggy manager. Everything that lists capabilities (the CLI,
the web, the schema and migrations, the self-check, the metrics, the findings catalog, notification
events) asks this module, so adding a capability means adding one folder and one line here.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Collection
from functools import cache
from types import ModuleType

import pluggy

from fapiao.capability import Capability, Event, ListState, NavEntry
from fapiao.hooks import PROJECT, Specs

# core first, then capabilities in dependency order; edges (cli, web) are not plugins, they are built.
# ops, authority, sync, contingency and reconcile require each other (see their `requires`): no
# order satisfies all of them, and the registry only needs each named one registered. The order
# here is also the order of their routes, menu ties, checks and status-page components.
BUILT_IN: tuple[str, ...] = (
    "fapiao.ledger.plugin",
    "fapiao.auth.plugin",
    "fapiao.printing.plugin",
    "fapiao.ops.plugin",
    "fapiao.authority.plugin",
    "fapiao.sync.plugin",
    "fapiao.contingency.plugin",
    "fapiao.reconcile.plugin",
    "fapiao.backup.plugin",
    "fapiao.insight.plugin",
    "fapiao.review.plugin",
    "fapiao.archive.plugin",
    "fapiao.notify.plugin",
    "fapiao.schedule.plugin",
    "fapiao.deduct.plugin",
    "fapiao.expense.plugin",
    "fapiao.red.plugin",
    "fapiao.voucher.plugin",
    "fapiao_dev.plugin",  # developer tools last (demo, samples, sandbox), loaded by name like a plug-in
)


class DeclarationError(RuntimeError):
    """A capability's declaration is inconsistent (a missing module, an undeclared dependency)."""


@cache
def manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(Specs)
    for name in BUILT_IN:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(PROJECT)
    return pm


def hook() -> pluggy.HookRelay:
    """`plugins.hook().invoices_recorded(tx=…, rows=…, actor=…)`."""
    return manager().hook


@cache
def capabilities() -> tuple[Capability, ...]:
    """Every registered capability, in registration order, their dependencies checked."""
    found = [c for c in reversed(manager().hook.fapiao_capability()) if c is not None]
    names = [c.name for c in found]
    if len(set(names)) != len(names):
        raise DeclarationError(f"two capabilities share a name: {sorted(names)}")
    for cap in found:
        missing = [r for r in cap.requires if r not in names]
        if missing:
            raise DeclarationError(f"capability {cap.name} requires {missing}, not registered")
    return tuple(found)


def notify(engine: object, event: str, tenant_id: int | None = None, **facts: object) -> None:
    """Raise a notification event; never fails the caller (a broken plug-in is logged, not raised).

    One line at each place where something people should hear about has happened, after its
    transaction committed: `plugins.notify(engine, "backup.failed", target=…, error=…)`."""
    try:
        hook().notify(engine=engine, event=event, tenant_id=tenant_id, facts=facts)
    except Exception as exc:  # the operation that raised the event already happened
        import logging

        logging.getLogger("fapiao.notify").error("notify.raise_failed %s: %s", event, exc)


def capability(name: str) -> Capability:
    for cap in capabilities():
        if cap.name == name:
            return cap
    raise KeyError(name)


def load(kind: str) -> list[ModuleType]:
    """Import the modules every capability declares under `kind` ("cli", "pages", "checks", …).

    A declared module that does not exist is a `DeclarationError` naming the capability."""
    out = []
    for cap in capabilities():
        for name in getattr(cap, kind):
            try:
                out.append(importlib.import_module(name))
            except ModuleNotFoundError as exc:
                if exc.name is None or not name.startswith(exc.name):
                    raise  # a dependency inside the module is missing: its own error
                raise DeclarationError(f"{cap.name}: {kind} {name}: no such module") from exc
    return out


def load_findings() -> None:
    """Every capability's finding codes (`CODES` dicts) joined to `fapiao.findings.CATALOG`."""
    from fapiao import findings

    for module in load("findings"):
        findings.register(module.CODES)


def nav_entries() -> list[NavEntry]:
    return sorted((e for c in capabilities() for e in c.nav), key=lambda e: e.order)


def events() -> dict[str, Event]:
    return {e.name: e for c in capabilities() for e in c.events}


@cache
def list_states() -> tuple[ListState, ...]:
    """The states capabilities keep beside invoices, in column order; names and `state` codes are
    unique across them (a listing's `state=booked` names one state of one capability)."""
    found = sorted((s for c in capabilities() for s in c.states), key=lambda s: s.order)
    names = [s.name for s in found]
    codes = [v.code for s in found for v in s.values]
    if len(set(names)) != len(names) or len(set(codes)) != len(codes):
        raise DeclarationError(f"listed states repeat a name or a code: {names} {codes}")
    return tuple(found)


def migration_folders() -> list[str]:
    """Alembic `version_locations`: each capability's own folder of revisions."""
    folders = []
    for cap in capabilities():
        if cap.migrations:
            spec = importlib.util.find_spec(cap.migrations)
            if spec is None or not spec.submodule_search_locations:
                raise DeclarationError(f"{cap.name}: migrations {cap.migrations} not found")
            folders.extend(spec.submodule_search_locations)
    return folders


KINDS = ("tables", "cli", "pages", "api", "checks", "metrics", "findings")


def check_declarations(imported: Collection[str] = KINDS) -> list[str]:
    """Every module every capability names must exist; the problems found (empty when all is well).

    Modules of the kinds in `imported` are imported (so an import error inside one shows too); the
    others are only located, so that the web need not load Typer nor the CLI FastAPI. Called by
    `create_app` and the CLI at start and by a test, so that a declared page or command that does
    not exist stops the start instead of vanishing from the menu."""
    problems = []
    for cap in capabilities():
        for kind in KINDS:
            for name in getattr(cap, kind):
                try:
                    if kind in imported:
                        importlib.import_module(name)
                    elif importlib.util.find_spec(name) is None:
                        problems.append(f"{cap.name}: {kind} {name}: no such module")
                except ImportError as exc:
                    problems.append(f"{cap.name}: {kind} {name}: {exc}")
    for check in (migration_folders, list_states):
        try:
            check()
        except DeclarationError as exc:
            problems.append(str(exc))
    return problems
