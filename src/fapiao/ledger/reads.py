"""Read connections for the hot listings: SQLite gets one read-only connection per thread (WAL
readers run side by side, each with its own statement cache, and no BEGIN/ROLLBACK round trips);
PostgreSQL reads through the engine's pool.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

_local = threading.local()
FETCH = 2000
MAX_FILES = 4


def _sqlite(engine: Engine) -> sqlite3.Connection:
    cons: dict[str, sqlite3.Connection] = _local.__dict__.setdefault("cons", {})
    path = engine.url.database or ""
    con = cons.get(path)
    if con is None:
        con = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, cached_statements=256
        )
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA query_only=ON")
        con.execute("PRAGMA cache_size=-32000")
        con.execute("PRAGMA mmap_size=1073741824")
        if len(cons) >= MAX_FILES:  # a thread that served many ledgers (tests) keeps a few
            cons.pop(next(iter(cons))).close()
        cons[path] = con
    return con


def uses_thread_connections(engine: Engine) -> bool:
    db = engine.url.database
    return engine.dialect.name == "sqlite" and bool(db) and db != ":memory:"


def fetch(engine: Engine, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of one read (small results: a page)."""
    if uses_thread_connections(engine):
        return _sqlite(engine).execute(sql, params).fetchall()
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


@contextmanager
def streamed(engine: Engine, sql: str, params: dict[str, Any]) -> Iterator[Iterator[Any]]:
    """Rows of a large read, fetched in batches (a server-side cursor on PostgreSQL)."""
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=FETCH).execute(text(sql), params)
        yield (tuple(r) for r in result)
