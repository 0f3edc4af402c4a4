"""Operations' commands: `check`, `notice …`, `ticket …` (declared by `fapiao.ops.plugin`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fapiao import plugins
from fapiao.cli.base import State, app, emit_json, err, ledger, out
from fapiao.vocabulary import shown

LEVEL_MARK = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]", "skip": "[dim]-[/]"}


def run_check(db: str | None, *, as_json: bool, authority: str | None, record: bool) -> int:
    from fapiao.ledger.store import Ledger
    from fapiao.ops.checks import run_checks
    from fapiao.ops.history import record_run
    from fapiao.ops.probe import make_probe

    probe = make_probe(db, authority=authority)
    try:
        report = run_checks(probe)
        if record and not report.ok and probe.engine is not None and probe.db_ok:
            failed = [c.name for c in report.checks if c.level == "fail"]
            plugins.notify(probe.engine, "check.failed", None, failed=failed, source="cli")
        recorded: int | None = None
        if record and probe.engine is not None and probe.db_ok:
            try:
                recorded = record_run(Ledger(probe.engine, actor="ops"), report, source="cli")
            except Exception as exc:
                err.print(
                    f"[yellow]未能记录本次检查 / not recorded:[/] {type(exc).__name__}: {str(exc)[:200]}"
                )
    finally:
        if probe.engine is not None:
            probe.engine.dispose()
    if as_json:
        emit_json({**report.to_json(), "recorded": recorded})
    else:
        for c in report.checks:
            out.print(
                f"{LEVEL_MARK.get(c.level, '?')} {c.name:<11} {c.zh} / {c.en}", highlight=False
            )
        failed = [c.name for c in report.checks if c.level == "fail"]
        if failed:
            out.print(f"[red]检查未通过 / failed:[/] {', '.join(failed)}")
    return 0 if report.ok else 1


@app.command("check")
def check_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="税务平台地址（默认 $FAPIAO_AUTHORITY）/ platform URL (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
    record: Annotated[
        bool, typer.Option(help="记入自检历史 / keep the result in the check history")
    ] = True,
) -> None:
    """自检。 Self-check: database, migrations, disk, originals, audit chain, sync, backups."""
    raise typer.Exit(run_check(State.db, as_json=as_json, authority=authority, record=record))


# --- notices ------------------------------------------------------------------------------------

notice_app = typer.Typer(no_args_is_help=True, help="状态页公告 / notices on the status page")
app.add_typer(notice_app, name="notice")


def _fail(exc: Any, as_json: bool, code: int = 1) -> typer.Exit:
    if as_json:
        emit_json({"error": {"code": exc.code, "message": exc.zh, "message_en": exc.en}})
    else:
        err.print(f"{exc.zh} / {exc.en}")
    return typer.Exit(code)


@notice_app.command("add")
def notice_add(
    title: Annotated[str, typer.Option(help="标题 title")],
    body: Annotated[str, typer.Option(help="正文 text")] = "",
    issuer: Annotated[str, typer.Option(help="发布机关 issuer, e.g. 国家税务总局")] = "",
    scope: Annotated[str, typer.Option(help="影响范围 affected scope")] = "",
    start: Annotated[
        str, typer.Option("--from", help="起始日期（默认今天）/ from YYYY-MM-DD (default today)")
    ] = "",
    end: Annotated[
        str, typer.Option("--to", help="截止日期（默认不限）/ to YYYY-MM-DD (default open)")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """发布公告。 Post a notice (e.g. from the tax bureau)."""
    from fapiao.ops.notices import NoticeError, post_notice

    try:
        nid = post_notice(
            ledger(),
            title=title,
            body=body,
            issuer=issuer,
            scope=scope,
            starts_on=start,
            ends_on=end,
        )
    except NoticeError as exc:
        raise _fail(exc, as_json, 2) from exc
    if as_json:
        emit_json({"id": nid})
    else:
        out.print(f"已发布公告 notice {nid} posted")


@notice_app.command("list")
def notice_list(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """公告列表。 Current, upcoming and past notices."""
    from fapiao.ops.notices import list_notices

    found = list_notices(ledger().engine)
    if as_json:
        emit_json(found)
        return
    for group in ("current", "upcoming", "past"):
        for n in found[group]:
            out.print(
                f"{n['id']} [{group}] {n['starts_on']}–{n['ends_on'] or '…'} {n['title']} ({n['scope']})",
                highlight=False,
            )


@notice_app.command("withdraw")
def notice_withdraw(
    notice_id: Annotated[int, typer.Argument(help="公告编号 / notice id")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """撤回公告。 Withdraw a notice (it stays in the history)."""
    from fapiao.ops.notices import NoticeError, withdraw_notice

    try:
        withdraw_notice(ledger(), notice_id)
    except NoticeError as exc:
        raise _fail(exc, as_json) from exc
    if as_json:
        emit_json({"id": notice_id, "state": "withdrawn"})


# --- tickets ------------------------------------------------------------------------------------

ticket_app = typer.Typer(no_args_is_help=True, help="报修 / repair tickets")
app.add_typer(ticket_app, name="ticket")


def _actor(name: str | None) -> Any:
    return ledger(as_name=name)


@ticket_app.command("new")
def ticket_new(
    symptoms: Annotated[str, typer.Option(help="故障现象 symptoms")],
    category: Annotated[
        str,
        typer.Option(
            help="类别 / category: import/sync/print/reconcile/access/hardware/network/other"
        ),
    ] = "other",
    place: Annotated[str, typer.Option(help="地点 place")] = "",
    when: Annotated[str, typer.Option("--when", help="发生时间 ISO time (default now)")] = "",
    reporter: Annotated[str, typer.Option(help="报修人 reporter")] = "cli",
    invoice: Annotated[
        list[int] | None, typer.Option("--invoice", help="发票编号，可重复 / invoice id (repeat)")
    ] = None,
    incident: Annotated[str, typer.Option(help="故障事件编号 / incident id")] = "",
    attach: Annotated[
        list[Path] | None, typer.Option("--attach", help="附件，可重复 / file (repeat)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """报修。 File a repair ticket."""
    from fapiao.ops.tickets import TicketError, file_ticket

    files = [(p.name, p.read_bytes()) for p in attach or []]
    try:
        tid = file_ticket(
            ledger(),  # the person at the keyboard records it; the reporter may be anyone
            reporter=reporter,
            symptoms=symptoms,
            category=category,
            place=place,
            occurred_at=when,
            invoice_ids=invoice or [],
            incident_id=incident,
            attachments=files,
        )
    except TicketError as exc:
        raise _fail(exc, as_json, exc.exit_code) from exc
    if as_json:
        emit_json({"id": tid})
    else:
        out.print(f"已报修 ticket {tid} filed")


@ticket_app.command("list")
def ticket_list(
    state: Annotated[
        str | None, typer.Option(help="状态 / state: open/triaged/assigned/answered/closed/active")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """报修列表。 List repair tickets, newest first."""
    from fapiao.ops.tickets import list_tickets

    rows = list_tickets(ledger().engine, state=state)
    if as_json:
        emit_json(rows)
        return
    for t in rows:
        out.print(
            f"{t['id']} {t['state']:<9} {t['priority']:<7} {t['category']:<10} {t['reporter']} → {t['assignee'] or '—'}: {t['symptoms'][:60]}",
            highlight=False,
        )


@ticket_app.command("show")
def ticket_show(
    ticket_id: Annotated[int, typer.Argument(help="工单编号 / ticket id")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """报修详情。 A ticket with every step taken."""
    from fapiao.ops.tickets import get

    t = get(ledger().engine, ticket_id)
    if t is None:
        err.print(f"报修单 {ticket_id} 不存在 / ticket not found")
        raise typer.Exit(1)
    if as_json:
        emit_json(t)
        return
    out.print(
        f"{t['id']} {t['state']} {t['priority']} {t['category']} @ {t['place']} ({t['occurred_at']})",
        highlight=False,
    )
    out.print(t["symptoms"], highlight=False)
    for s in t["steps"]:
        out.print(
            f"  {shown(s['at'], seconds=True)} {s['actor']} {s['action']} {s['text']}",
            highlight=False,
        )


def _step(ticket_id: int, as_json: bool, fn: Any, actor: str | None, **kw: Any) -> None:
    from fapiao.ops.tickets import TicketError

    try:
        fn(_actor(actor), ticket_id, **kw)
    except TicketError as exc:
        raise _fail(exc, as_json, exc.exit_code) from exc
    if as_json:
        from fapiao.ops.tickets import get

        emit_json(get(ledger().engine, ticket_id))


ActorOpt = Annotated[
    str | None, typer.Option("--as", help="操作人（运维支持用户）/ who does it (support user)")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]
TicketArg = Annotated[int, typer.Argument(help="工单编号 / ticket id")]


@ticket_app.command("triage")
def ticket_triage(
    ticket_id: TicketArg,
    priority: Annotated[str, typer.Option(help="优先级 / priority: low/normal/high/urgent")],
    category: Annotated[str | None, typer.Option(help="类别代码 / category code")] = None,
    note: Annotated[str, typer.Option(help="说明 / note")] = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """分诊。 Set priority (and category)."""
    from fapiao.ops.tickets import triage

    _step(ticket_id, as_json, triage, actor, priority=priority, category=category, text=note)


@ticket_app.command("assign")
def ticket_assign(
    ticket_id: TicketArg,
    to: Annotated[str, typer.Option("--to", help="运维支持用户 / support user")],
    note: Annotated[str, typer.Option(help="说明 / note")] = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """指派。 Assign to a support user."""
    from fapiao.ops.tickets import assign

    _step(ticket_id, as_json, assign, actor, assignee=to, text=note)


@ticket_app.command("answer")
def ticket_answer(
    ticket_id: TicketArg,
    text: Annotated[str, typer.Option(help="内容 / text")],
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """答复。 Answer the reporter."""
    from fapiao.ops.tickets import answer

    _step(ticket_id, as_json, answer, actor, text=text)


@ticket_app.command("close")
def ticket_close(
    ticket_id: TicketArg,
    note: Annotated[str, typer.Option(help="说明 / note")] = "",
    actor: ActorOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """关闭。 Close the ticket."""
    from fapiao.ops.tickets import close

    _step(ticket_id, as_json, close, actor, text=note)


__all__ = ["State", "notice_app", "run_check", "ticket_app"]
