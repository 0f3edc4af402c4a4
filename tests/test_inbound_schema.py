"""Each new capability's migration creates exactly the tables its tables module declares (columns,
types, keys, indexes), on SQLite and PostgreSQL, and the registry knows the capabilities."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fapiao import plugins
from fapiao.ledger.db import open_engine
from fapiao.tables import metadata

NEW = {
    "deduct": ("deduct_selections", "deduct_periods"),
    "expense": ("bookings", "expense_claims"),
    "red": ("red_requests",),
    "voucher": ("voucher_accounts",),
}


def test_migrations_create_what_the_tables_declare(empty_db_url: str) -> None:
    engine = open_engine(empty_db_url)  # the migrations run here, on an empty database
    ours = {name for names in NEW.values() for name in names}
    with engine.connect() as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ledger's expression indexes are not reflected
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()

    def table_of(change: object) -> str:
        item = change[0] if isinstance(change, list) else change
        for part in item[1:]:
            name = getattr(part, "name", None)
            table = getattr(part, "table", None)
            if table is not None:
                return table.name
            if isinstance(part, str):
                return part
            if name:
                return name
        return ""

    assert [d for d in diff if table_of(d) in ours] == []


def test_capabilities_are_registered() -> None:
    names = {c.name for c in plugins.capabilities()}
    assert set(NEW) <= names
    with warnings.catch_warnings():  # the installed click warns about names typer still imports
        warnings.simplefilter("ignore", DeprecationWarning)
        assert plugins.check_declarations() == []
