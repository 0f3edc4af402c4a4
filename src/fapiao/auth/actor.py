"""Who the command line acts as: a person, never an anonymous `cli`, once the ledger has users.

`--as NAME`, else `$FAPIAO_USER`, else the operating-system login when a ledger user has that name
(so an admin who adds a user named after a colleague's login makes it their default). Once the
ledger has users, the name must be one of them and enabled. While it has none at all (a new ledger,
a script's own ledger) there is nobody to check against: a given name is recorded as given, and
with no name the command line writes as `cli`. From the first user on, an anonymous write is
refused before it starts, so every change in the chain names a person.
"""

from __future__ import annotations

import getpass
import os

from sqlalchemy import Engine, func, select

from fapiao.auth.schema import users
from fapiao.findings import Refusal


class ActorRefused(Refusal):
    """No person to record a change under (exit code 2 on the command line)."""

    usage = True

    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(Refusal.said(code, zh, en, "actor"))


def _enabled(engine: Engine, name: str) -> bool | None:
    """True enabled, False disabled, None no such user."""
    with engine.connect() as conn:
        row = conn.execute(select(users.c.disabled).where(users.c.name == name)).first()
    return None if row is None else not row.disabled


def _os_login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in a container
        return ""


def resolve(engine: Engine, given: str | None) -> str:
    """The actor string for the ledger: `cli:NAME` for a person, `cli` when nobody is named."""
    name = given or os.environ.get("FAPIAO_USER", "")
    if name:
        state = _enabled(engine, name)
        if state is None and not _has_users(engine):
            return f"cli:{name}"
        if state is None:
            raise ActorRefused("no_user", f"没有用户 {name}", f"no user {name!r} in this ledger")
        if not state:
            raise ActorRefused("user_disabled", f"用户 {name} 已停用", f"user {name!r} is disabled")
        return f"cli:{name}"
    login = _os_login()
    if login and _enabled(engine, login):
        return f"cli:{login}"
    return "cli"


def _has_users(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(users)).scalar_one())


def require_person(engine: Engine, actor: str) -> None:
    """Refuse an anonymous write once the ledger has users (called before the first write)."""
    if actor == "cli" and _has_users(engine):
        raise ActorRefused(
            "actor_required",
            "本账簿已有用户，修改须以具名用户进行：--as 用户名 或设置 FAPIAO_USER",
            "this ledger has users: changes need a named user (--as NAME or $FAPIAO_USER)",
        )
