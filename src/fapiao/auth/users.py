"""Users, grants, logins with lock-out, sessions and API tokens.

Passwords are hashed with argon2id. A login checks the password outside the ledger lock and then
records the outcome (attempt row, counters, session) and its event in one write transaction.
Ten wrong passwords in a row lock the account for `LOCK_MINUTES`; an address with too many failures
in `RATE_WINDOW_S` is refused before any password is checked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, delete, func, select, update

from fapiao.auth.schema import api_tokens, login_attempts, sessions, user_tenants, users
from fapiao.ledger.store import Ledger

ROLES = ("admin", "accountant", "auditor", "viewer", "support")
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "export", "audit", "write", "admin", "support"}),
    "accountant": frozenset({"read", "export", "audit", "write"}),
    "auditor": frozenset({"read", "export", "audit"}),
    "viewer": frozenset({"read"}),
    "support": frozenset({"read", "support"}),  # the repair desk (ops tickets)
}
MAX_FAILURES = 10
LOCK_MINUTES = 15
RATE_WINDOW_S = 300
RATE_MAX_FAILURES = 50  # per address and window
SESSION_HOURS = 12
MIN_PASSWORD = 8


def _make_hasher() -> PasswordHasher:
    """argon2id; the library's defaults (3 passes, 64 MiB) unless FAPIAO_ARGON2_TIME_COST /
    FAPIAO_ARGON2_MEMORY_KIB say otherwise (small machines, test rigs)."""
    return PasswordHasher(
        time_cost=int(os.environ.get("FAPIAO_ARGON2_TIME_COST", "3")),
        memory_cost=int(os.environ.get("FAPIAO_ARGON2_MEMORY_KIB", "65536")),
    )


_hasher = _make_hasher()
_DUMMY_HASH = _hasher.hash("not a real password")


class AuthError(Exception):
    """A request the caller must refuse; `code` names why (stable, for the web layer)."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    tenants: frozenset[int] | None  # None: every tenant (admin)

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees(self, tenant_id: int) -> bool:
        return self.tenants is None or tenant_id in self.tenants


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # the cookie value; only its hash is stored
    csrf: str
    user: User


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="microseconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        raise AuthError(
            "bad_role", f"角色无效，可选：{', '.join(ROLES)}", f"role must be one of {ROLES}"
        )
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
        uid = tx.conn.scalar(select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AuthError("no_user", f"没有用户 {name}", f"no user {name}")
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
    drop_caches()
    return wanted


def set_role(ledger: Ledger, name: str, role: str) -> None:
    if role not in ROLES:
        raise AuthError("bad_role", "角色无效", f"role must be one of {ROLES}")
    with ledger.write() as tx:
        row = tx.conn.execute(select(users.c.id, users.c.role).where(users.c.name == name)).first()
        if row is None:
            raise AuthError("no_user", f"没有用户 {name}", f"no user {name}")
        tx.conn.execute(
            update(users).where(users.c.id == row.id).values(role=role, updated_at=tx.now)
        )
        tx.event("user.role_changed", "user", row.id, {"name": name, "from": row.role, "to": role})
    drop_caches()


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


def load_user(conn: Any, uid: int, role: str, name: str) -> User:
    if role == "admin":
        return User(uid, name, role, None)
    granted = frozenset(
        conn.scalars(select(user_tenants.c.tenant_id).where(user_tenants.c.user_id == uid))
    )
    return User(uid, name, role, granted)


# --- logins -------------------------------------------------------------------------------------


def login(ledger: Ledger, *, name: str, password: str, ip: str) -> Session:
    """Checks a password; records the attempt and its event; returns a new session or raises."""
    now = utc_now()
    since = _iso(now - dt.timedelta(seconds=RATE_WINDOW_S))
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
    if row is None:
        _check_password(_DUMMY_HASH, password)  # same time as for a real user
        _record_failure(ledger, name=name, ip=ip, uid=None, reason="unknown_user")
        raise AuthError("bad_login", "用户名或密码错误", "wrong user name or password")
    if row.disabled:
        _record_failure(ledger, name=name, ip=ip, uid=row.id, reason="disabled")
        raise AuthError("bad_login", "用户名或密码错误", "wrong user name or password")
    if row.locked_until and row.locked_until > _iso(now):
        _record_failure(ledger, name=name, ip=ip, uid=row.id, reason="locked")
        raise AuthError(
            "locked",
            "账户已锁定，请稍后再试或联系管理员",
            "account locked: try again later or ask an admin",
        )
    if not _check_password(row.password_hash, password):
        _record_failure(ledger, name=name, ip=ip, uid=row.id, reason="bad_password")
        raise AuthError("bad_login", "用户名或密码错误", "wrong user name or password")
    return _record_success(ledger, row, ip=ip, password=password)


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
            until = _iso(utc_now() + dt.timedelta(minutes=LOCK_MINUTES))
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
        expires = _iso(utc_now() + dt.timedelta(hours=SESSION_HOURS))
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
    drop_caches()


def unlock(ledger: Ledger, name: str) -> None:
    with ledger.write() as tx:
        uid = tx.conn.scalar(select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AuthError("no_user", f"没有用户 {name}", f"no user {name}")
        tx.conn.execute(
            update(users).where(users.c.id == uid).values(locked_until="", failed_count=0)
        )
        tx.event("user.unlocked", "user", uid, {"name": name})


def cached_session(token: str, *, clock: float) -> tuple[bool, tuple[User, str] | None]:
    """(found, value) from the few-second cache of verified sessions, without a query."""
    hit = _session_cache.get(token_hash(token))
    if hit is not None and clock - hit[0] < TOKEN_CACHE_S:
        return True, hit[1]
    return False, None


def session_user(
    ledger: Ledger, token: str, *, clock: float | None = None
) -> tuple[User, str] | None:
    """The user and CSRF token of a live session, or None; with `clock`, cached a few seconds
    (logout, role and grant changes in this process drop the cache)."""
    if clock is not None:
        found, value = cached_session(token, clock=clock)
        if found:
            return value
    value = _session_user(ledger, token)
    if clock is not None:
        if len(_session_cache) > 10_000:
            _session_cache.clear()
        _session_cache[token_hash(token)] = (clock, value)
    return value


def _session_user(ledger: Ledger, token: str) -> tuple[User, str] | None:
    now = _iso(utc_now())
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


# --- API tokens ---------------------------------------------------------------------------------

_token_cache: dict[str, tuple[float, User | None]] = {}
_session_cache: dict[str, tuple[float, tuple[User, str] | None]] = {}
TOKEN_CACHE_S = 5.0


def drop_caches() -> None:
    _token_cache.clear()
    _session_cache.clear()


def cached_token(token: str, *, clock: float) -> tuple[bool, User | None]:
    """(found, user) from the few-second cache of verified tokens, without a query."""
    hit = _token_cache.get(token_hash(token))
    if hit is not None and clock - hit[0] < TOKEN_CACHE_S:
        return True, hit[1]
    return False, None


def create_token(ledger: Ledger, name: str, label: str = "script") -> str:
    token = "fpt_" + secrets.token_urlsafe(32)
    with ledger.write() as tx:
        uid = tx.conn.scalar(select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AuthError("no_user", f"没有用户 {name}", f"no user {name}")
        (tid,) = tx.new_ids(1)
        tx.insert(
            api_tokens,
            [
                {
                    "id": tid,
                    "token_hash": token_hash(token),
                    "user_id": uid,
                    "name": label[:100],
                    "created_at": tx.now,
                    "revoked_at": "",
                }
            ],
        )
        tx.event("token.created", "user", uid, {"name": name, "token_id": tid, "label": label})
    return token


def revoke_tokens(ledger: Ledger, name: str) -> int:
    with ledger.write() as tx:
        uid = tx.conn.scalar(select(users.c.id).where(users.c.name == name))
        if uid is None:
            raise AuthError("no_user", f"没有用户 {name}", f"no user {name}")
        n = tx.conn.execute(
            update(api_tokens)
            .where(api_tokens.c.user_id == uid, api_tokens.c.revoked_at == "")
            .values(revoked_at=tx.now)
        ).rowcount
        tx.event("token.revoked", "user", uid, {"name": name, "count": n})
    drop_caches()
    return n


def token_user(ledger: Ledger, token: str, *, clock: float) -> User | None:
    """The user of a live API token; cached a few seconds so scripts do not pay a query each."""
    digest = token_hash(token)
    hit = _token_cache.get(digest)
    if hit is not None and clock - hit[0] < TOKEN_CACHE_S:
        return hit[1]
    with ledger.engine.connect() as conn:
        row = conn.execute(
            select(users.c.id, users.c.name, users.c.role)
            .select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))
            .where(
                and_(
                    api_tokens.c.token_hash == digest,
                    api_tokens.c.revoked_at == "",
                    users.c.disabled == 0,
                )
            )
        ).first()
        user = load_user(conn, row.id, row.role, row.name) if row else None
    if len(_token_cache) > 10_000:
        _token_cache.clear()
    _token_cache[digest] = (clock, user)
    return user


def tenant_names(ledger: Ledger, user: User) -> list[dict[str, Any]]:
    """The tenants the user may see, in id order."""
    rows = ledger.tenant_rows()
    return [r for r in rows if user.sees(r["id"])]
