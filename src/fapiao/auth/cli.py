"""Users and their permissions on the command line: `user add|list|token|unlock|disable|enable|role`.

Declared by `fapiao.auth.plugin`; the same conventions as `fapiao.cli` (bilingual, `--json`, exit codes)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
)
from fapiao.vocabulary import shown

user_app = typer.Typer(no_args_is_help=True, help="用户与权限 / users and permissions")
app.add_typer(user_app, name="user")


def _password_from_env_or_prompt() -> str:
    import os

    password = os.environ.get("FAPIAO_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        err.print("请设置 FAPIAO_PASSWORD / set FAPIAO_PASSWORD (passwords are never arguments)")
        raise typer.Exit(2)
    return typer.prompt("密码 password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="用户名 user name")],
    role: Annotated[
        str, typer.Option(help="角色 / role: admin / accountant / auditor / viewer / support")
    ],
    tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", help="企业编号或税号，可重复 / tenant id or tax ID (repeat)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """添加用户。 Add a user; the password comes from $FAPIAO_PASSWORD or a prompt."""
    from fapiao.auth.users import AuthError, add_user

    password = _password_from_env_or_prompt()
    try:
        uid = add_user(ledger(), name=name, password=password, role=role, tenants=tenant or [])
    except AuthError as exc:
        if as_json:
            emit_json({"error": {"code": exc.code, "message": exc.zh, "message_en": exc.en}})
        else:
            err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1 if exc.code in ("exists", "no_tenant") else 2) from exc
    if as_json:
        emit_json({"id": uid, "name": name, "role": role, "tenants": tenant or []})
    else:
        out.print(f"已添加用户 user {name} ({role}) added")


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """用户列表。 List users, roles and granted tenants."""
    from fapiao.auth.users import list_users
    from fapiao.vocabulary import word

    rows = list_users(ledger())
    if as_json:
        emit_json(rows)
        return
    table = Table("用户 user", "角色 role", "企业 tenants", "锁定至 locked until", "停用 disabled")
    for r in rows:
        wide = r["role"] == "admin" and not r["tenants"]
        tenants = "全部 all" if wide else ",".join(map(str, r["tenants"]))
        role = f"{word('role', r['role'])} {r['role']}"  # the word first, the code for scripts
        table.add_row(
            r["name"], role, tenants, shown(r["locked_until"]), "是 yes" if r["disabled"] else ""
        )
    out.print(table)


def _refused(exc: Exception, code: int = 1) -> typer.Exit:
    err.print(f"{exc.zh} / {exc.en}")  # type: ignore[attr-defined]
    return typer.Exit(code)


@user_app.command("token")
def user_token(
    words: Annotated[
        list[str],
        typer.Argument(
            help="用户名 | list 用户名 | revoke 用户名 [令牌编号] / NAME | list NAME | revoke NAME [TOKEN_ID]",
            show_default=False,
        ),
    ],
    label: Annotated[str, typer.Option(help="令牌用途 / what the token is for")] = "script",
    days: Annotated[int, typer.Option(help="有效天数 lifetime in days (1–3650)")] = 90,
    revoke_all: Annotated[
        bool, typer.Option("--all", help="吊销该用户全部令牌 / revoke: every token of NAME")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """生成、列出、吊销 API 令牌。
    API tokens: `token NAME` creates one (printed once, 90 days unless --days);
    `token list NAME` lists them with expiry and last use; `token revoke NAME ID|--all`."""
    from fapiao.auth.users import AuthError, create_token

    try:
        if words[0] == "list" and len(words) == 2:
            _token_list(words[1], as_json)
        elif words[0] == "revoke" and len(words) in (2, 3):
            _token_revoke(words[1], words[2] if len(words) == 3 else None, revoke_all)
        elif len(words) == 1:
            if not 1 <= days <= 3650:
                err.print("有效期须为 1–3650 天 / --days must be 1 to 3650")
                raise typer.Exit(2)
            sys.stdout.write(create_token(ledger(), words[0], label, days) + "\n")
        else:
            err.print("用法 usage: user token NAME | list NAME | revoke NAME [ID|--all]")
            raise typer.Exit(2)
    except AuthError as exc:
        raise _refused(exc) from exc


def _token_list(name: str, as_json: bool) -> None:
    from fapiao.auth.users import list_tokens

    rows = list_tokens(ledger(), name)
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "ID", "用途 label", "创建 created", "到期 expires", "最近使用 last used", "状态 state"
    )
    for r in rows:
        state = "revoked" if r["revoked_at"] else ("active" if r["active"] else "expired")
        table.add_row(
            str(r["id"]), r["label"], shown(r["created_at"]), shown(r["expires_at"]),
            shown(r["last_used_at"]) or "-", state,
        )  # fmt: skip
    out.print(table)


def _token_revoke(name: str, token_id: str | None, revoke_all: bool) -> None:
    from fapiao.auth.users import revoke_tokens

    if (token_id is None) == (not revoke_all):
        err.print("请给出令牌 ID 或 --all / give a token id or --all")
        raise typer.Exit(2)
    if token_id is not None and not token_id.isdigit():
        err.print(f"令牌 ID 无效 / not a token id: {token_id}")
        raise typer.Exit(2)
    n = revoke_tokens(ledger(), name, int(token_id) if token_id else None)
    out.print(f"已吊销 revoked: {n}")


@user_app.command("unlock")
def user_unlock(name: Annotated[str, typer.Argument(help="用户名 user name")]) -> None:
    """解锁账户。 Unlock an account locked after wrong passwords."""
    from fapiao.auth.users import AuthError, unlock

    try:
        unlock(ledger(), name)
    except AuthError as exc:
        raise _refused(exc) from exc
    out.print(f"已解锁 user {name} unlocked")


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="用户名 user name")]) -> None:
    """停用用户。 Disable a user: no login, sessions and tokens refused at once."""
    _set_disabled(name, True)


@user_app.command("enable")
def user_enable(name: Annotated[str, typer.Argument(help="用户名 user name")]) -> None:
    """启用用户。 Enable a disabled user again (their unrevoked tokens work again)."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    from fapiao.auth.users import AuthError, set_disabled

    try:
        changed = set_disabled(ledger(), name, disabled)
    except AuthError as exc:
        raise _refused(exc) from exc
    word = "disabled 已停用" if disabled else "enabled 已启用"
    out.print(f"用户 user {name} {word}" + ("" if changed else " (unchanged 未变)"))


@user_app.command("role")
def user_role(
    name: Annotated[str, typer.Argument(help="用户名 user name")],
    role: Annotated[
        str, typer.Argument(help="角色 / role: admin / accountant / auditor / viewer / support")
    ],
) -> None:
    """修改角色。 Change a user's role; it takes effect at once."""
    from fapiao.auth.users import AuthError, set_role

    try:
        set_role(ledger(), name, role)
    except AuthError as exc:
        raise _refused(exc, 2 if exc.code == "bad_role" else 1) from exc
    out.print(f"用户 user {name}: 角色 role {role}")
