"""Users, permissions, sessions and API tokens: the `user` commands and the `/api/v1/users` routes."""

from fapiao.capability import Capability
from fapiao.hooks import hookimpl

CAPABILITY = Capability(
    name="auth",
    zh="用户与权限",
    en="Users and permissions",
    requires=(),
    tables=("fapiao.auth.schema",),
    migrations="fapiao.auth.migrations",
    cli=("fapiao.auth.cli",),
    commands=("user",),
    api=("fapiao.auth.api",),
)


@hookimpl
def fapiao_capability() -> Capability:
    return CAPABILITY
