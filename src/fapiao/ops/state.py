"""Small named records in `ops_state`: the readiness heartbeat and the re-hash rotation cursor.

The heartbeat is the one write fapiao makes outside the audit chain: it records no change to the
books, only that the database still takes a committed write (a full disk or a read-only replica
shows here first). Everything else in `ops_state` is written through `Ledger.write()`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from fapiao.ledger.db import WRITE, is_postgres
from fapiao.ops.tables import ops_state


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def get_state(engine: Engine, name: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        raw = conn.scalar(select(ops_state.c.value).where(ops_state.c.name == name))
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def write_state(conn: Connection, name: str, value: dict[str, Any]) -> None:
    """Upsert inside the caller's transaction (portable: update, else insert)."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    now = _now()
    done = conn.execute(
        update(ops_state).where(ops_state.c.name == name).values(value=text, updated_at=now)
    )
    if done.rowcount == 0:
        conn.execute(insert(ops_state).values(name=name, value=text, updated_at=now))


def put_state(engine: Engine, name: str, value: dict[str, Any], *, busy_ms: int = 3000) -> None:
    """Commit one state row now, waiting at most `busy_ms` for another writer's lock."""
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        sqlite = not is_postgres(engine) and engine.dialect.name == "sqlite"
        raw = conn.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        try:
            with conn.begin():
                if is_postgres(engine):
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(busy_ms)}ms'")
                write_state(conn, name, {**value, "at": _now()})
        except IntegrityError:
            pass  # another process wrote the same row at this moment: the database takes writes
        finally:
            if raw is not None:
                raw.execute("PRAGMA busy_timeout=30000")
