"""The notify and schedule capabilities as plug-ins: registered, every declared module importable,
their migrations creating exactly the tables they declare (SQLite and PostgreSQL), their events
known with Chinese and English names."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData

from fapiao import plugins
from fapiao.ledger.db import open_engine
from fapiao.ledger.schema import metadata

OURS = {"notify": "notify_", "schedule": "schedule_"}


def test_both_capabilities_are_registered_and_whole() -> None:
    names = [c.name for c in plugins.capabilities()]
    assert {"notify", "schedule"} <= set(names)
    assert plugins.check_declarations() == []
    events = plugins.events()
    for name in ("reconcile.findings", "sync.breaker_open", "sync.breaker_closed", "sync.parked",
                 "check.failed", "backup.failed", "backup.stale", "drill.failed",
                 "incident.opened", "action.due", "reissue.due", "ticket.new"):  # fmt: skip
        assert events[name].zh and events[name].en, name
    assert {e.path for e in plugins.nav_entries()} >= {"/notify", "/schedule"}


@pytest.mark.parametrize("capability", sorted(OURS))
def test_the_migration_creates_exactly_the_declared_tables(
    empty_db_url: str, capability: str
) -> None:
    import fapiao.tables  # noqa: F401  (every capability's tables on the metadata)

    prefix = OURS[capability]
    declared = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        if table.name.startswith(prefix):
            table.to_metadata(declared)
    assert declared.tables
    engine = open_engine(empty_db_url)  # the migrations run here, on an empty database
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={  # only this capability's tables are reflected and compared
                "include_name": lambda name, kind, _: kind != "table" or name.startswith(prefix),
                "compare_type": True,
            },
        )
        diff = compare_metadata(context, declared)
    engine.dispose()
    assert diff == []
