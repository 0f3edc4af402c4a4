"""`fapiao notify …`: channels, rules, a test message, delivery of what is queued, the log."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from fapiao.cli.base import State, app, emit_json, err, ledger, out
from fapiao.ledger.db import open_engine
from fapiao.notify import deliver, outbox, sender, store
from fapiao.notify.events import EVENTS, render
from fapiao.notify.store import NotifyError

notify_app = typer.Typer(no_args_is_help=True, help="通知 / notifications")
channel_app = typer.Typer(no_args_is_help=True, help="通知通道（apprise 地址） / channels")
rule_app = typer.Typer(no_args_is_help=True, help="通知规则 / which event goes where")
app.add_typer(notify_app, name="notify")
notify_app.add_typer(channel_app, name="channel")
notify_app.add_typer(rule_app, name="rule")

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]
NameArg = Annotated[str, typer.Argument(help="渠道名 / channel name")]
RuleArg = Annotated[int, typer.Argument(help="规则编号 / rule id")]
LimitOpt = Annotated[int, typer.Option("--limit", help="最多显示条数 / at most this many")]


def _refused(exc: NotifyError, as_json: bool, code: int = 1) -> typer.Exit:
    if as_json:
        emit_json({"error": exc.to_json()})
    else:
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
    return typer.Exit(code)


def _tenant_id(engine: object, tenant: str | None) -> int | None:
    if tenant is None:
        return None
    from fapiao.ledger.store import Ledger

    rows = Ledger(engine, actor="notify").tenant_rows()  # type: ignore[arg-type]
    for r in rows:
        if tenant in (str(r["id"]), r["tax_id"]):
            return int(r["id"])
    err.print(f"找不到企业 / no such tenant: {tenant}", highlight=False)
    raise typer.Exit(2)


@channel_app.command("add")
def channel_add(
    name: NameArg,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            help="通知地址（apprise），'-' 从标准输入读取 / apprise URL; '-' reads it from stdin",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """添加通道。 Add a channel (企业微信 wecombot://, 钉钉 dingtalk://, mailto://, json://…)."""
    if url == "-":  # keeps a token out of the shell history and the process list
        url = sys.stdin.readline().strip()
    try:
        store.add_channel(ledger(), name, url)
    except NotifyError as exc:
        raise _refused(exc, as_json, 2 if exc.code in ("bad_url", "bad_name") else 1) from exc
    if as_json:
        emit_json({"name": name, "url": store.masked(url)})
    else:
        out.print(f"通道 channel {name}: {store.masked(url)}", highlight=False)


@channel_app.command("list")
def channel_list(as_json: JsonOpt = False) -> None:
    """通道列表。 Channels, their addresses masked."""
    rows = store.list_channels(open_engine(State.db))
    if as_json:
        emit_json(rows)
        return
    table = Table("名称 name", "地址 url", "所有人 owner")
    for r in rows:
        table.add_row(r["name"], r["url"], r["owner"] or "-")
    out.print(table)


@channel_app.command("remove")
def channel_remove(name: NameArg, as_json: JsonOpt = False) -> None:
    """删除通道。 Remove a channel and its rules."""
    try:
        store.remove_channel(ledger(), name)
    except NotifyError as exc:
        raise _refused(exc, as_json) from exc
    if as_json:
        emit_json({"removed": name})
    else:
        out.print(f"已删除 removed {name}")


@notify_app.command("test")
def notify_test(name: NameArg, as_json: JsonOpt = False) -> None:
    """发送测试消息。 Send a test message to a channel now, and say whether it arrived."""
    engine = open_engine(State.db)
    try:
        url = store.channel_url(engine, name)
    except NotifyError as exc:
        raise _refused(exc, as_json) from exc
    message = render("notify.test", {"channel": name})
    error = sender.send(url, message.title, message.body)
    if as_json:
        emit_json({"channel": name, "ok": error is None, "error": error or ""})
    elif error is None:
        out.print(f"[green]✓[/] 已发送 sent to {name}")
    else:
        err.print(f"[red]✗[/] 发送失败 not delivered to {name}: {error}", highlight=False)
    raise typer.Exit(0 if error is None else 1)


@rule_app.command("add")
def rule_add(
    event: Annotated[
        str,
        typer.Option(
            "--event", help="事件名，如 reconcile.findings / event, e.g. reconcile.findings"
        ),
    ],
    channel: Annotated[
        list[str], typer.Option("--channel", help="通知渠道名，可重复 / channel name (repeat)")
    ],
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="企业编号或税号 / tenant id or tax ID")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """添加通知规则。 Send an event to channels (for one tenant, or all)."""
    led = ledger()
    try:
        ids = store.add_rule(
            led, event=event, channels=channel, tenant_id=_tenant_id(led.engine, tenant)
        )
    except NotifyError as exc:
        raise _refused(exc, as_json, 2 if exc.code == "bad_event" else 1) from exc
    if as_json:
        emit_json({"ids": ids})
    else:
        out.print(f"规则 rules {', '.join(map(str, ids))}: {event} → {', '.join(channel)}")


@rule_app.command("list")
def rule_list(as_json: JsonOpt = False) -> None:
    """规则列表。 Rules, the command line's and every user's subscriptions."""
    rows = store.list_rules(open_engine(State.db))
    if as_json:
        emit_json(rows)
        return
    names = {e.name: e.zh for e in EVENTS}
    table = Table("id", "事件 event", "通道 channel", "企业 tenant", "订阅人 owner")
    for r in rows:
        table.add_row(
            str(r["id"]),
            f"{r['event']} {names.get(r['event'], '')}",
            r["channel"],
            str(r["tenant_id"] or "全部 all"),
            r["owner"] or "-",
        )
    out.print(table)


@rule_app.command("remove")
def rule_remove(rule_id: RuleArg, as_json: JsonOpt = False) -> None:
    """删除规则。 Remove a rule."""
    try:
        store.remove_rule(ledger(), rule_id)
    except NotifyError as exc:
        raise _refused(exc, as_json) from exc
    if as_json:
        emit_json({"removed": rule_id})
    else:
        out.print(f"已删除 removed rule {rule_id}")


@notify_app.command("send")
def notify_send(as_json: JsonOpt = False) -> None:
    """发送待发消息。
    Deliver the queued messages that are due, once (for cron; `serve` does it by itself)."""
    engine = open_engine(State.db)
    outbox.prune(engine)
    done = deliver.deliver_due(engine, limit=500)
    if as_json:
        emit_json(done.to_json())
    else:
        out.print(
            f"已发送 sent {done.sent} · 重试 retrying {done.retrying} · 搁置 parked {done.parked}"
        )
        for e in done.errors:
            err.print(f"  [red]✗[/] {e}", highlight=False)
    raise typer.Exit(0 if not done.errors else 1)


@notify_app.command("log")
def notify_log(limit: LimitOpt = 50, as_json: JsonOpt = False) -> None:
    """消息记录。 The newest messages and how their delivery went."""
    rows = outbox.recent(open_engine(State.db), limit=limit)
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "事件 event", "通道 channel", "状态 state", "次数 tries", "错误 error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["event"],
            r["channel"],
            r["state"],
            str(r["attempts"]),
            r["last_error"][:80],
        )
    out.print(table)
