"""What every part of `fapiao.auth` shares: roles and their permissions, the caller (`User`), the
one exception (`AuthError`), time stamps, token digests and loading a user's tenant scope.

A user's scope is `User.tenants`: `None` means every tenant (ledger-wide), a set means exactly
those tenants. An admin without grants is ledger-wide; an admin granted tenants sees only them,
like any other role. Ledger-wide data (user administration, the whole chain's check, tickets and
incidents of no tenant) belongs to ledger-wide users only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from fapiao.auth.schema import user_tenants, users

ROLES = ("admin", "accountant", "auditor", "viewer", "support")
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "export", "audit", "write", "admin", "support", "manage_users"}),
    "accountant": frozenset({"read", "export", "audit", "write"}),
    "auditor": frozenset({"read", "export", "audit"}),
    "viewer": frozenset({"read"}),
    "support": frozenset({"read", "support"}),  # the repair desk (ops tickets)
}
# held only by a user of every tenant, whatever the role grants
LEDGER_WIDE_PERMISSIONS = frozenset({"manage_users"})


class AuthError(Exception):
    """A request the caller must refuse; `code` names why (stable, for the web layer)."""

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.code, self.zh, self.en = code, zh, en


def no_user(name: str) -> AuthError:
    return AuthError("no_user", f"没有用户 {name}", f"no user {name}")


def not_yourself() -> AuthError:
    """An admin does not disable themselves or change their own role (no lock-out by a click)."""
    return AuthError(
        "not_yourself",
        "不能停用自己或修改自己的角色，请由另一位管理员操作",
        "you cannot disable yourself or change your own role: ask another admin",
    )


def bad_role() -> AuthError:
    return AuthError(
        "bad_role", f"角色无效，可选：{', '.join(ROLES)}", f"role must be one of {', '.join(ROLES)}"
    )


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    tenants: frozenset[int] | None  # None: every tenant (a ledger-wide admin)

    def can(self, permission: str) -> bool:
        if permission in LEDGER_WIDE_PERMISSIONS and self.tenants is not None:
            return False
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees(self, tenant_id: int) -> bool:
        return self.tenants is None or tenant_id in self.tenants

    @property
    def ledger_wide(self) -> bool:
        return self.tenants is None


@dataclass(frozen=True, slots=True)
class Session:
    token: str  # the cookie value; only its hash is stored
    csrf: str
    user: User


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    return t.isoformat(timespec="microseconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_user(conn: Any, uid: int, role: str, name: str) -> User:
    """The user with their scope: an admin without grants sees every tenant; anyone with grants
    (an admin too) sees exactly the granted tenants."""
    granted = frozenset(
        conn.scalars(select(user_tenants.c.tenant_id).where(user_tenants.c.user_id == uid))
    )
    if role == "admin" and not granted:
        return User(uid, name, role, None)
    return User(uid, name, role, granted)


def user_row(conn: Any, name: str) -> Any:
    """The `users` row of `name`, or AuthError no_user."""
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise no_user(name)
    return row
