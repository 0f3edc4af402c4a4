"""Users, grants, roles, disabling, logins with lock-out and sessions (API tokens: `tokens.py`).

Passwords are hashed with argon2id. A login checks the password outside the ledger lock and then
records the outcome (attempt row, counters, session) and its event in one write transaction.
Ten wrong passwords in a row lock the account for `LOCK_MINUTES`; an address with too many failures
in `RATE_WINDOW_S` is refused before any password is checked. Every change that takes access away
(disable, role, grants, logout, token revocation) reaches every process on this host at once
(`fapiao.auth.cache`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update

from fapiao.auth import cache
from fapiao.auth.base import (
    PERMISSIONS,
    ROLES,
    AuthError,
    Session,
    User,
    bad_role,
    iso,
    load_user,
    no_user,
    not_yourself,
    token_hash,
    user_row,
    utc_now,
)
from fapiao.auth.schema import login_attempts, sessions, user_tenants, users
from fapiao.auth.tokens import (
    TOKEN_DAYS,
    cached_token,
    create_token,
    list_tokens,
    revoke_tokens,
    token_user,
)
from fapiao.ledger.store import Ledger

__all__ = [
    "BAD_LOGIN",
    "PERMISSIONS",
    "ROLES",
    "TOKEN_DAYS",
    "AuthError",
    "Session",
    "User",
    "add_user",
    "cached_session",
    "cached_token",
    "create_token",
    "drop_caches",
    "get_user",
    "list_tokens",
    "list_users",
    "load_user",
    "login",
    "logout",
    "not_yourself",
    "revoke_tokens",
    "session_user",
    "set_disabled",
    "set_grants",
    "set_role",
    "tenant_names",
    "token_hash",
    "token_user",
    "unlock",
]

MAX_FAILURES = 10
LOCK_MINUTES = 15
RATE_WINDOW_S = 300
RATE_MAX_FAILURES = 50  # per address and window
SESSION_HOURS = 12
MIN_PASSWORD = 8
TOKEN_CACHE_S = cache.TTL_S


def _make_hasher() -> PasswordHasher:
    """argon2id; the library's defaults (3 passes, 64 MiB) unless FAPIAO_ARGON2_TIME_COST /
    FAPIAO_ARGON2_MEMORY_KIB say otherwise (small machines, test rigs)."""
    return PasswordHasher(
        time_cost=int(os.environ.get("FAPIAO_ARGON2_TIME_COST", "3")),
        memory_cost=int(os.environ.get("FAPIAO_ARGON2_MEMORY_KIB", "65536")),
    )


_hasher = _make_hasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so that a wrong name takes as long as a
    wrong password. Made by the server at its start (`prepare_logins`), not at import: a hash
    costs a third of a second, and every command that imports this module would pay it."""
    return _hasher.hash("not a real password")


def prepare_logins() -> None:
    """Make the unknown user's hash now (a server, before its first login), so that even the
    first login with a wrong name takes as long as one with a wrong password."""
    _dummy_hash()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- users and grants -------------------------------------------------------------------------


def add_user(
    ledger: Ledger, *, name: str, password: str, role: str, tenants: list[str] | None = None
) -> int:
    """Creates a user; tenants are ids or tax IDs. Raises AuthError on bad input."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise AuthError("bad_name", "用户名无效", "invalid user name")
    if role not in ROLES:
        raise bad_role()
    if len(password) < MIN_PASSWORD:
        raise AuthError(
            "weak_password",
            f"密码至少 {MIN_PASSWORD} 个字符",
            f"password needs at least {MIN_PASSWORD} characters",
        )
    tenant_ids = resolve_tenants(ledger, tenants or [])
    digest = hash_password(password)
    with ledger.write() as tx:
        if tx.conn.scalar(select(users.c.id).where(users.c.name == name)) is not None:
            raise AuthError("exists", f"用户 {name} 已存在", f"user {name} exists")
        (uid,) = tx.new_ids(1)
        row = {
            "id": uid,
            "name": name,
            "password_hash": digest,
            "role": role,
            "disabled": 0,
            "failed_count": 0,
            "locked_until": "",
            "created_at": tx.now,
            "updated_at": tx.now,
        }
        tx.insert(users, [row])
        tx.event("user.added", "user", uid, {"name": name, "role": role})
        _grant(tx, uid, name, tenant_ids)
    return uid


def resolve_tenants(ledger: Ledger, refs: list[str]) -> list[int]:
    rows = ledger.tenant_rows()
    by_ref = {str(r["id"]): r["id"] for r in rows} | {r["tax_id"]: r["id"] for r in rows}
    out = []
    for ref in refs:
        tid = by_ref.get(ref.strip().upper())
        if tid is None:
            raise AuthError("no_tenant", f"没有企业 {ref}", f"no tenant {ref}")
        out.append(tid)
    return sorted(set(out))


def _grant(tx: Any, uid: int, name: str, tenant_ids: list[int]) -> None:
    present = set(
        tx.conn.scalars(select(user_tenants.c.tenant_id).where(user_tenants.c.user_id == uid))
    )
    new = [t for t in tenant_ids if t not in present]
    tx.insert(user_tenants, [{"user_id": uid, "tenant_id": t, "created_at": tx.now} for t in new])
    for t in new:
        tx.event("user.granted", "user", uid, {"name": name, "tenant_id": t}, tenant_id=t)


def set_grants(ledger: Ledger, name: str, tenants: list[str]) -> list[int]:
    """Makes the user's grants exactly `tenants`; each grant and revocation is an event."""
    wanted = resolve_tenants(ledger, tenants)
    with ledger.write() as tx:
        uid = user_row(tx.conn, name).id
        present = set(
            tx.conn.scalars(select(user_tenants.c.tenant_id).where(user_tenants.c.user_id == uid))
        )
        for t in sorted(present - set(wanted)):
            tx.conn.execute(
                delete(user_tenants).where(
                    user_tenants.c.user_id == uid, user_tenants.c.tenant_id == t
                )
            )
            tx.event("user.revoked", "user", uid, {"name": name, "tenant_id": t}, tenant_id=t)
        _grant(tx, uid, name, wanted)
    cache.bump(ledger.engine)
    return wanted


def set_role(ledger: Ledger, name: str, role: str) -> None:
    """Changes the user's role; their sessions and tokens carry the new role at once."""
    if role not in ROLES:
        raise bad_role()
    with ledger.write() as tx:
        row = user_row(tx.conn, name)
        if row.role == role:
            return
        tx.conn.execute(
            update(users).where(users.c.id == row.id).values(role=role, updated_at=tx.now)
        )
        tx.event("user.role_changed", "user", row.id, {"name": name, "from": row.role, "to": role})
    cache.bump(ledger.engine)


def set_disabled(ledger: Ledger, name: str, disabled: bool) -> bool:
    """Disables (or enables again) a user. A disabled user cannot log in, and their sessions
    and tokens are refused at once (sessions are ended; tokens come back with `enable`).
    Returns whether anything changed."""
    with ledger.write() as tx:
        row = user_row(tx.conn, name)
        if bool(row.disabled) == disabled:
            return False
        tx.conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(disabled=int(disabled), updated_at=tx.now)
        )
        ended = 0
        if disabled:
            ended = tx.conn.execute(delete(sessions).where(sessions.c.user_id == row.id)).rowcount
        action = "user.disabled" if disabled else "user.enabled"
        tx.event(action, "user", row.id, {"name": name, "sessions_ended": ended})
    cache.bump(ledger.engine)
    return True


def list_users(ledger: Ledger) -> list[dict[str, Any]]:
    with ledger.engine.connect() as conn:
        grants: dict[int, list[int]] = {}
        for g in conn.execute(select(user_tenants)):
            grants.setdefault(g.user_id, []).append(g.tenant_id)
        return [
            {
                "name": r.name,
                "role": r.role,
                "tenants": sorted(grants.get(r.id, [])),
                "locked_until": r.locked_until,
                "disabled": bool(r.disabled),
            }
            for r in conn.execute(select(users).order_by(users.c.name))
        ]


def get_user(ledger: Ledger, name: str) -> dict[str, Any]:
    found = [u for u in list_users(ledger) if u["name"] == name]
    if not found:
        raise no_user(name)
    return found[0]


# --- logins -------------------------------------------------------------------------------------

# Every refused login answers alike (unknown user, wrong password, locked, disabled), after one
# argon2 verify, so neither the answer nor its time tells whether a name exists or is locked.
BAD_LOGIN = (
    "用户名或密码错误（连续输错 10 次将锁定 15 分钟）",
    "wrong user name or password (10 wrong in a row lock the account for 15 minutes)",
)


def _bad_login() -> AuthError:
    return AuthError("bad_login", *BAD_LOGIN)


def login(ledger: Ledger, *, name: str, password: str, ip: str) -> Session:
    """Checks a password; records the attempt and its event; returns a new session or raises."""
    now = utc_now()
    since = iso(now - dt.timedelta(seconds=RATE_WINDOW_S))
    with ledger.engine.connect() as conn:
        recent = conn.scalar(
            select(func.count())
            .select_from(login_attempts)
            .where(
                login_attempts.c.ip == ip, login_attempts.c.at >= since, login_attempts.c.ok == 0
            )
        )
        row = conn.execute(select(users).where(users.c.name == name)).first()
    if recent >= RATE_MAX_FAILURES:
        raise AuthError(
            "rate_limited", "登录尝试过多，请稍后再试", "too many login attempts, try later"
        )
    # the same work on every path: one verify against a real or a dummy hash
    good = _check_password(row.password_hash if row is not None else _dummy_hash(), password)
    if row is None:
        reason = "unknown_user"
    elif row.disabled:
        reason = "disabled"
    elif row.locked_until and row.locked_until > iso(now):
        reason = "locked"
    elif not good:
        reason = "bad_password"
    else:
        return _record_success(ledger, row, ip=ip, password=password)
    _record_failure(ledger, name=name, ip=ip, uid=row.id if row else None, reason=reason)
    raise _bad_login()


def _attempt(tx: Any, name: str, ip: str, ok: bool) -> None:
    (aid,) = tx.new_ids(1)
    tx.insert(
        login_attempts,
        [{"id": aid, "name": name[:100], "ip": ip[:64], "ok": int(ok), "at": tx.now}],
    )


def _record_failure(ledger: Ledger, *, name: str, ip: str, uid: int | None, reason: str) -> None:
    with ledger.write() as tx:
        _attempt(tx, name, ip, False)
        tx.event(
            "user.login_failed", "user", uid or "", {"name": name[:100], "ip": ip, "reason": reason}
        )
        if uid is None or reason != "bad_password":
            return
        count = tx.conn.scalar(select(users.c.failed_count).where(users.c.id == uid)) + 1
        values: dict[str, Any] = {"failed_count": count, "updated_at": tx.now}
        if count >= MAX_FAILURES:
            until = iso(utc_now() + dt.timedelta(minutes=LOCK_MINUTES))
            values |= {"failed_count": 0, "locked_until": until}
            tx.event("user.locked", "user", uid, {"name": name, "until": until, "failures": count})
        tx.conn.execute(update(users).where(users.c.id == uid).values(**values))


def _record_success(ledger: Ledger, row: Any, *, ip: str, password: str) -> Session:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    values: dict[str, Any] = {"failed_count": 0, "locked_until": ""}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = hash_password(password)
    with ledger.write() as tx:
        _attempt(tx, row.name, ip, True)
        tx.conn.execute(update(users).where(users.c.id == row.id).values(**values))
        expires = iso(utc_now() + dt.timedelta(hours=SESSION_HOURS))
        tx.insert(
            sessions,
            [
                {
                    "token_hash": token_hash(token),
                    "user_id": row.id,
                    "csrf": csrf,
                    "ip": ip[:64],
                    "created_at": tx.now,
                    "expires_at": expires,
                }
            ],
        )
        tx.event("user.login", "user", row.id, {"name": row.name, "ip": ip})
        user = load_user(tx.conn, row.id, row.role, row.name)
    return Session(token, csrf, user)


def logout(ledger: Ledger, token: str) -> None:
    with ledger.write() as tx:
        row = tx.conn.execute(
            select(sessions.c.user_id).where(sessions.c.token_hash == token_hash(token))
        ).first()
        if row is None:
            return
        tx.conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash(token)))
        tx.event("user.logout", "user", row.user_id, {})
    cache.bump(ledger.engine)


def unlock(ledger: Ledger, name: str) -> None:
    with ledger.write() as tx:
        uid = user_row(tx.conn, name).id
        tx.conn.execute(
            update(users).where(users.c.id == uid).values(locked_until="", failed_count=0)
        )
        tx.event("user.unlocked", "user", uid, {"name": name})


def drop_caches() -> None:
    """Empties this process's cache of verified sessions and tokens (tests, tools)."""
    cache.clear()


def cached_session(
    token: str, *, clock: float, engine: Any
) -> tuple[bool, tuple[User, str] | None]:
    """(found, value) from the few-second cache of verified sessions, without a query."""
    found, value = cache.get("s", token_hash(token), engine, clock)
    return found, value


def session_user(
    ledger: Ledger, token: str, *, clock: float | None = None
) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or None; with `clock`, cached a few seconds
    (`fapiao.auth.cache`: ended at once on this host when access is taken away)."""
    digest = token_hash(token)
    if clock is not None:
        found, value = cache.get("s", digest, ledger.engine, clock)
        if found:
            return value  # type: ignore[no-any-return]
    mark = cache.current(ledger.engine)
    value = _session_user(ledger, token)
    if clock is not None:
        cache.put("s", digest, mark, clock, value)
    return value


def _session_user(ledger: Ledger, token: str) -> tuple[User, str] | None:
    now = iso(utc_now())
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(users.c.id, users.c.name, users.c.role, sessions.c.csrf)
            .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
            .where(
                sessions.c.token_hash == token_hash(token),
                sessions.c.expires_at > now,
                users.c.disabled == 0,
            )
        ).first()
        if row is None:
            return None
        return load_user(conn, row.id, row.role, row.name), row.csrf


def tenant_names(ledger: Ledger, user: User) -> list[dict[str, Any]]:
    """The tenants the user may see, in id order."""
    rows = ledger.tenant_rows()
    return [r for r in rows if user.sees(r["id"])]
