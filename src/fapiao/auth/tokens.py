"""API tokens for scripts (`Authorization: Bearer fpt_…`): created, listed, revoked, expiring.

Only a token's SHA-256 is stored. A token lives `TOKEN_DAYS` (90) days unless created with another
lifetime; a revoked or expired token, or one whose user is disabled, answers like an unknown one.
Creating and revoking are events in the chain; the last use is bookkeeping (no event), written at
most once a `LAST_USED_EVERY_S` per token.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Engine, select, update

from fapiao.auth import cache
from fapiao.auth.base import AuthError, User, iso, load_user, token_hash, user_row, utc_now
from fapiao.auth.schema import api_tokens, users
from fapiao.ledger.store import Ledger

TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
LAST_USED_EVERY_S = 60


def create_token(ledger: Ledger, name: str, label: str = "script", days: int = TOKEN_DAYS) -> str:
    """A new token for `name`, valid `days` days (1 … 3650); printed once, never stored."""
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise AuthError(
            "bad_days",
            f"有效期须为 1–{MAX_TOKEN_DAYS} 天",
            f"a token lives 1 to {MAX_TOKEN_DAYS} days",
        )
    token = "fpt_" + secrets.token_urlsafe(32)
    expires = iso(utc_now() + dt.timedelta(days=days))
    with ledger.write() as tx:
        uid = user_row(tx.conn, name).id
        (tid,) = tx.new_ids(1)
        row = {
            "id": tid,
            "token_hash": token_hash(token),
            "user_id": uid,
            "name": label[:100],
            "created_at": tx.now,
            "revoked_at": "",
            "expires_at": expires,
            "last_used_at": "",
        }
        tx.insert(api_tokens, [row])
        tx.event(
            "token.created",
            "user",
            uid,
            {"name": name, "token_id": tid, "label": label, "expires_at": expires},
        )
    return token


def list_tokens(ledger: Ledger, name: str) -> list[dict[str, Any]]:
    """The user's tokens, newest first, without their digests."""
    t = api_tokens
    with ledger.engine.connect() as conn:
        uid = user_row(conn, name).id
        rows = conn.execute(
            select(
                t.c.id, t.c.name, t.c.created_at, t.c.expires_at, t.c.last_used_at, t.c.revoked_at
            )
            .where(t.c.user_id == uid)
            .order_by(t.c.id.desc())
        ).all()
    now = iso(utc_now())
    return [
        {
            "id": r.id,
            "label": r.name,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "last_used_at": r.last_used_at,
            "revoked_at": r.revoked_at,
            "active": not r.revoked_at and (not r.expires_at or r.expires_at > now),
        }
        for r in rows
    ]


def revoke_tokens(ledger: Ledger, name: str, token_id: int | None = None) -> int:
    """Revokes one token of `name` (by id) or all of them; how many were live. Takes effect at
    once in every process on this host (`cache.bump`)."""
    with ledger.write() as tx:
        uid = user_row(tx.conn, name).id
        where = [api_tokens.c.user_id == uid, api_tokens.c.revoked_at == ""]
        if token_id is not None:
            known = tx.conn.scalar(
                select(api_tokens.c.id).where(
                    api_tokens.c.user_id == uid, api_tokens.c.id == token_id
                )
            )
            if known is None:
                raise AuthError(
                    "no_token",
                    f"用户 {name} 没有令牌 {token_id}",
                    f"{name} has no token {token_id}",
                )
            where.append(api_tokens.c.id == token_id)
        n = tx.conn.execute(update(api_tokens).where(*where).values(revoked_at=tx.now)).rowcount
        tx.event("token.revoked", "user", uid, {"name": name, "token_id": token_id, "count": n})
    cache.bump(ledger.engine)
    return n


def cached_token(token: str, *, clock: float, engine: Engine) -> tuple[bool, User | None]:
    """(found, user) from the few-second cache of verified tokens, without a query."""
    found, value = cache.get("t", token_hash(token), engine, clock)
    return found, value


def token_user(ledger: Ledger, token: str, *, clock: float) -> User | None:
    """The user of a live API token (not revoked, not expired, user not disabled); cached a few
    seconds (see `fapiao.auth.cache`)."""
    digest = token_hash(token)
    found, value = cache.get("t", digest, ledger.engine, clock)
    if found:
        return value  # type: ignore[no-any-return]
    mark = cache.current(ledger.engine)
    now = utc_now()
    t = api_tokens
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(users.c.id, users.c.name, users.c.role, t.c.id.label("tid"), t.c.last_used_at)
            .select_from(t.join(users, users.c.id == t.c.user_id))
            .where(
                t.c.token_hash == digest,
                t.c.revoked_at == "",
                t.c.expires_at > iso(now),
                users.c.disabled == 0,
            )
        ).first()
        user = load_user(conn, row.id, row.role, row.name) if row else None
    if row is not None and row.last_used_at < iso(now - dt.timedelta(seconds=LAST_USED_EVERY_S)):
        with ledger.write() as tx:
            tx.conn.execute(update(t).where(t.c.id == row.tid).values(last_used_at=tx.now))
    cache.put("t", digest, mark, clock, user)
    return user
