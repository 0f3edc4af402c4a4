"""The message outbox: queued by the `notify` hook, claimed and settled by the deliverer.

Queuing is one short INSERT per channel, so raising an event costs the operation that raised it a
millisecond whether the channel is up or not. A claim is a conditional UPDATE (the row is still
pending and its lease has run out), so two deliverers — two `serve` processes, or `serve` and a
cron's `fapiao notify send` — never send the same message twice at once.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from fapiao.ledger.db import WRITE
from fapiao.ledger.store import utc_now
from fapiao.notify.events import render
from fapiao.notify.store import channels_for
from fapiao.notify.tables import notify_attempts, notify_messages

PENDING, SENT, PARKED = "pending", "sent", "parked"
msg = notify_messages


def retry_base_s() -> float:
    return float(os.environ.get("FAPIAO_NOTIFY_RETRY_S", "30"))


def max_attempts() -> int:
    return int(os.environ.get("FAPIAO_NOTIFY_MAX_ATTEMPTS", "8"))


RETRY_CAP_S = 3600.0
LEASE_S = 120.0


def backoff(attempts: int) -> float:
    """Seconds before the next try after `attempts` failures: doubling from the base, capped."""
    return float(min(RETRY_CAP_S, retry_base_s() * 2 ** max(0, attempts - 1)))


def owner_id() -> str:
    return f"{socket.gethostname()[:60]}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction (SQLite: BEGIN IMMEDIATE, so two writers queue rather than deadlock)."""
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        yield conn


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    channel: str
    title: str
    body: str
    attempts: int
    lease: str  # the claim's mark; only its holder settles the message


def enqueue(engine: Engine, event: str, tenant_id: int | None, facts: dict[str, Any]) -> int:
    """Queue the event's message for every channel a rule names; the number queued."""
    with engine.connect() as conn:  # most events have no rule: no write, no lock taken
        channels = channels_for(conn, event, tenant_id)
    if not channels:
        return 0
    message = render(event, facts)
    now = utc_now()
    with writing(engine) as conn:
        conn.execute(
            insert(msg),
            [
                {
                    "event": event,
                    "tenant_id": tenant_id,
                    "channel": channel,
                    "title": message.title,
                    "body": message.body,
                    "state": PENDING,
                    "attempts": 0,
                    "next_at": 0.0,
                    "lease_owner": "",
                    "lease_until": 0.0,
                    "last_error": "",
                    "created_at": now,
                    "sent_at": "",
                }
                for channel in channels
            ],
        )
    return len(channels)


def claim(
    engine: Engine, owner: str, *, limit: int = 20, now: float | None = None
) -> list[Claimed]:
    """Lease up to `limit` due messages to `owner`; each row is taken only if still free."""
    now = time.time() if now is None else now
    free = (msg.c.state == PENDING) & (msg.c.next_at <= now) & (msg.c.lease_until <= now)
    with engine.connect() as conn:
        ids = list(conn.scalars(select(msg.c.id).where(free).order_by(msg.c.id).limit(limit)))
    if not ids:
        return []
    lease = f"{owner}|{now!r}"  # this claim's own mark: rows another claim took keep theirs
    with writing(engine) as conn:
        conn.execute(
            update(msg)
            .where(msg.c.id.in_(ids), free)
            .values(lease_owner=lease, lease_until=now + LEASE_S)
        )
        rows = conn.execute(select(msg).where(msg.c.lease_owner == lease).order_by(msg.c.id))
        return [Claimed(r.id, r.channel, r.title, r.body, r.attempts, lease) for r in rows]


def settle(
    engine: Engine, item: Claimed, *, error: str | None, duration_ms: int, final: bool = False
) -> str:
    """Record one attempt; the message's new state (sent, pending again later, or parked —
    at once when `final`: trying again cannot help)."""
    attempts = item.attempts + 1
    now = time.time()
    if error is None:
        values: dict[str, Any] = {"state": SENT, "sent_at": utc_now(), "last_error": ""}
    elif final or attempts >= max_attempts():
        values = {"state": PARKED, "last_error": error[:2000]}
    else:
        values = {"state": PENDING, "next_at": now + backoff(attempts), "last_error": error[:2000]}
    with writing(engine) as conn:
        conn.execute(
            update(msg)
            .where(msg.c.id == item.id, msg.c.lease_owner == item.lease)
            .values(attempts=attempts, lease_owner="", lease_until=0.0, **values)
        )
        conn.execute(
            insert(notify_attempts).values(
                message_id=item.id,
                at=utc_now(),
                ok=int(error is None),
                error=(error or "")[:2000],
                duration_ms=duration_ms,
            )
        )
    return str(values["state"])


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(msg.c.state, func.count()).group_by(msg.c.state))
        return {PENDING: 0, SENT: 0, PARKED: 0} | {r[0]: int(r[1]) for r in rows}


def recent(engine: Engine, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest messages, newest first (for `notify log` and the web page)."""
    cols = [c for c in msg.c if c.name not in ("lease_owner", "lease_until")]
    with engine.connect() as conn:
        rows = conn.execute(select(*cols).order_by(msg.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def prune(engine: Engine, *, keep_days: float = 90.0) -> int:
    """Forget messages sent more than `keep_days` ago, with their attempts (parked ones stay for
    a person to read); the number removed."""
    import datetime as dt

    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)).isoformat()
    old = select(msg.c.id).where(msg.c.state == SENT, msg.c.sent_at < cutoff)
    with writing(engine) as conn:
        conn.execute(delete(notify_attempts).where(notify_attempts.c.message_id.in_(old)))
        return int(conn.execute(delete(msg).where(msg.c.id.in_(old))).rowcount)
