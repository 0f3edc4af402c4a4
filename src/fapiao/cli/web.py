"""Users and the web app: user …, serve."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from fapiao.cli.base import (
    State,
    app,
    emit_json,
    err,
    ledger,
    out,
)
from fapiao.ledger.db import open_engine
from fapiao.ops import logs as oplog

# --- users and the web app ----------------------------------------------------------------------

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
    role: Annotated[str, typer.Option(help="admin / accountant / auditor / viewer")],
    tenant: Annotated[
        list[str] | None, typer.Option("--tenant", help="tenant id or tax ID (repeat)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a user; the password comes from $FAPIAO_PASSWORD or a prompt. 添加用户。"""
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
        out.print(f"user {name} ({role}) added")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List users, roles and granted tenants. 用户列表。"""
    from fapiao.auth.users import list_users

    rows = list_users(ledger())
    if as_json:
        emit_json(rows)
        return
    table = Table("用户 user", "角色 role", "企业 tenants", "锁定至 locked until")
    for r in rows:
        tenants = "all" if r["role"] == "admin" else ",".join(map(str, r["tenants"]))
        table.add_row(r["name"], r["role"], tenants, r["locked_until"][:19])
    out.print(table)


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="用户名 user name")],
    label: Annotated[str, typer.Option(help="what the token is for")] = "script",
) -> None:
    """Create an API token for scripts (printed once). 生成 API 令牌。"""
    from fapiao.auth.users import AuthError, create_token

    try:
        sys.stdout.write(create_token(ledger(), name, label) + "\n")
    except AuthError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc


@user_app.command("unlock")
def user_unlock(name: Annotated[str, typer.Argument(help="用户名 user name")]) -> None:
    """Unlock an account locked after wrong passwords. 解锁账户。"""
    from fapiao.auth.users import AuthError, unlock

    try:
        unlock(ledger(), name)
    except AuthError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc
    out.print(f"user {name} unlocked")


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="platform URL: run the outbox worker inside the server (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
) -> None:
    """Run the web app and the REST API (and the outbox worker when an authority is set).
    启动网页与 API（设置税务平台时同时运行同步）。"""
    import os

    import uvicorn

    from fapiao.ledger.db import to_url

    os.environ["FAPIAO_DB"] = to_url(State.db)
    open_engine(State.db).dispose()  # migrate once, before the workers start
    from fapiao.ops import daily

    oplog.configure(default_level="info", force=True)
    daily.start(State.db)  # the self-check, once a day, kept in the history
    authority_url = authority or os.environ.get("FAPIAO_AUTHORITY")
    if authority_url:
        from fapiao.sync import background

        background.start(State.db, authority_url)  # one worker thread, whatever --workers says
        out.print(f"同步 sync → {authority_url}")
    out.print(f"fapiao web: http://{host}:{port}/  (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    uvicorn.run(
        "fapiao.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
        # a SIGTERM waits this long for requests in flight, then cancels them (jobs are called off)
        timeout_graceful_shutdown=int(os.environ.get("FAPIAO_WEB_SHUTDOWN_S", "5")),
    )
