"""Undoing a failed restore: the target is left as it was found. A SQLite file the restore
created is removed; otherwise the tables and (PostgreSQL) functions the migrations created are
dropped and the migration record is put back. Rows load in one transaction, which rolls back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text

_SIDECARS = ("-wal", "-shm", "-journal")


def created_file(url: str) -> Path | None:
    """The SQLite file a restore to `url` will create (None: it exists already, or no file)."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return None
    path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
    return None if path.exists() else path


def remove_file(path: Path) -> None:
    for each in (path, *(Path(f"{path}{s}") for s in _SIDECARS)):
        each.unlink(missing_ok=True)


@dataclass(slots=True)
class Before:
    """The target's tables and migration record before the restore touched it."""

    tables: set[str]
    versions: list[str] | None  # None: no alembic_version table
    functions: set[
        str
    ]  # PostgreSQL: the schema's functions (the migrations make trigger functions)

    @classmethod
    def of(cls, engine: Engine) -> Before:
        tables = set(inspect(engine).get_table_names())
        versions = None
        if "alembic_version" in tables:
            with engine.connect() as conn:
                versions = list(conn.scalars(text("SELECT version_num FROM alembic_version")))
        return cls(tables, versions, _functions(engine))

    def put_back(self, engine: Engine) -> None:
        made = set(inspect(engine).get_table_names()) - self.tables
        functions = _functions(engine) - self.functions
        with engine.begin() as conn:
            for signature in sorted(functions):
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            quote = engine.dialect.identifier_preparer.quote
            cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
            for name in sorted(made):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)}{cascade}")
            if self.versions is not None:
                conn.exec_driver_sql("DELETE FROM alembic_version")
                for v in self.versions:
                    conn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": v})


def _functions(engine: Engine) -> set[str]:
    if engine.dialect.name != "postgresql":
        return set()
    with engine.connect() as conn:
        return set(
            conn.scalars(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p "
                    "WHERE p.pronamespace = current_schema()::regnamespace"
                )
            )
        )
