"""Reconciliation and its remedies: reconcile, actions …."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fapiao import vocabulary
from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
    say_findings,
)
from fapiao.vocabulary import normal_period

# --- reconcile and remedies ---------------------------------------------------------------------

actions_app = typer.Typer(no_args_is_help=True, help="对账处理事项 / reconciliation remedies")
app.add_typer(actions_app, name="actions")

REPORT_SUFFIXES = (".html", ".htm", ".xlsx", ".json")


@app.command("reconcile")
def reconcile_cmd(
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="平台导出文件/文件夹或平台地址（默认 $FAPIAO_AUTHORITY）/ export file/folder or platform URL (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    period: Annotated[
        str | None, typer.Option(help="期间 / period YYYY-MM or YYYY", callback=normal_period)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    report: Annotated[
        Path | None, typer.Option("--out", help="报告文件 / report file: .html, .xlsx or .json")
    ] = None,
    engine: Annotated[
        str,
        typer.Option("--engine", help="对账引擎 / engine: auto, duckdb or database (PostgreSQL)"),
    ] = "auto",
) -> None:
    """对账。 Compare the ledger with the authority's list; file each finding as an action."""
    from fapiao.authority.errors import AuthorityError
    from fapiao.reconcile.report import TITLES
    from fapiao.reconcile.run import Refused, UsageError, actions_index, run, write_report

    if report is not None and report.suffix.lower() not in REPORT_SUFFIXES:
        err.print(
            f"报告格式应为 .html、.xlsx 或 .json / --out must be .html, .xlsx or .json: {report}"
        )
        raise typer.Exit(2)
    if engine not in ("auto", "duckdb", "database"):
        err.print(f"--engine 可选 auto / duckdb / database，不是 {engine!r} / not {engine!r}")
        raise typer.Exit(2)
    led = ledger()
    try:
        outcome = run(led, tenant=tenant, period=period, authority=authority, backend=engine)
    except Refused as exc:
        say_findings([exc.finding])
        raise typer.Exit(1) from exc
    except (UsageError, ValueError) as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(2) from exc
    except AuthorityError as exc:
        err.print(f"税务平台不可用 / the authority failed: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    result = outcome.result
    if outcome.findings:
        say_findings(outcome.findings)
    if report is not None:
        write_report(outcome, report, actions_index(led, result.scope.tenant_id))
    if as_json:
        emit_json(result.to_json())
    else:
        out.print(
            f"对账 reconcile {outcome.tenant_name} {result.scope.period or '全部 all'} ⇄ {outcome.authority}",
            highlight=False,
        )
        out.print(
            f"账簿 ledger {result.ledger_count} · 平台 authority {result.authority_count} · "
            f"一致 matched {result.matched}"
        )
        table = Table("类别 category", "张数 count", "发票 invoices")
        for cat in result.categories:
            entries = result.entries[cat]
            shown = ", ".join(e.key for e in entries[:5]) + (" …" if len(entries) > 5 else "")
            table.add_row(f"{TITLES[cat][0]} {cat}", str(len(entries)), shown)
        out.print(table)
        if outcome.summary:
            s = outcome.summary.to_json()
            out.print(
                f"处理事项 actions: 新 opened {s['opened']} · 保留 kept {s['kept']} · "
                f"重开 reopened {s['reopened']} · 关闭 closed {s['closed']}  (fapiao actions list)"
            )
        if report is not None:
            out.print(f"报告 report: {report}", highlight=False)
    raise typer.Exit(1 if result.findings else 0)


@actions_app.command("list")
def actions_list(
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    state: Annotated[
        str | None,
        typer.Option(help="状态 / state: open / in_progress / resolved / waived / active"),
    ] = "active",
    category: Annotated[
        str | None, typer.Option(help="对账类别 / category: missing_at_authority …")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """处理事项列表。 List the remedy actions (default: open and in progress)."""
    from fapiao.reconcile import remedies

    led = ledger()
    tenant_id = _tenant_id(led, tenant) if tenant else None
    if state not in (None, "active", "all", *remedies.STATES):
        err.print(f"--state 可选 / one of: {', '.join(remedies.STATES)}, active, all")
        raise typer.Exit(2)
    wanted = None if state in ("active", "all") else state
    rows = remedies.list_actions(led.engine, tenant_id=tenant_id, state=wanted, category=category)
    if state == "active":
        rows = [r for r in rows if r["state"] in remedies.ACTIVE]
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "id",
        "类别 category",
        "发票 invoice",
        "处理 remedy",
        "状态 state",
        "负责人 owner",
        "期限 due",
    )
    from fapiao.reconcile.report import TITLES

    for r in rows:
        table.add_row(
            r["id"],
            TITLES[r["category"]][0] if r["category"] in TITLES else r["category"],
            r["identity_key"],
            r["remedy_zh"],
            vocabulary.word("action", r["state"]),
            r["owner"],
            r["due_date"],
        )
    out.print(table)


def _action_id(text: str) -> int:
    if not text.isdigit():
        err.print(f"事项编号应为数字 / action id must be a number: {text}")
        raise typer.Exit(2)
    return int(text)


@actions_app.command("show")
def actions_show(
    action_id: Annotated[str, typer.Argument(help="处理事项编号 / action id")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """处理事项详情。 One action with its finding and history."""
    from fapiao.reconcile import remedies

    found = remedies.get_action(ledger().engine, _action_id(action_id))
    if found is None:
        err.print(f"未找到 / not found: {action_id}")
        raise typer.Exit(1)
    if as_json:
        emit_json(found)
        return
    out.print_json(
        json.dumps({k: v for k, v in found.items() if k != "history"}, ensure_ascii=False)
    )
    for h in found["history"]:
        out.print(
            f"  #{h['seq']} {vocabulary.shown(h['at'], seconds=True)} {h['actor']} {h['action']}",
            highlight=False,
        )


@actions_app.command("set")
def actions_set(
    action_id: Annotated[str, typer.Argument(help="处理事项编号 / action id")],
    state: Annotated[
        str | None, typer.Option(help="状态 / state: open / in_progress / resolved / waived")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="负责人 / who handles it")] = None,
    due: Annotated[str | None, typer.Option(help="日期 / date YYYY-MM-DD")] = None,
    note: Annotated[str | None, typer.Option(help="追加到备注 / appended to the notes")] = None,
    remedy: Annotated[
        str | None, typer.Option(help="处理方式 / remedy: reupload / request_reissue / ask_copy …")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """更新处理事项。 Change an action's state, owner, due date, remedy or add a note."""
    from fapiao.reconcile import remedies

    try:
        due_date = dt.date.fromisoformat(due) if due else None
        found = remedies.set_action(
            ledger(), _action_id(action_id), state=state, owner=owner, due=due_date, note=note,
            remedy=remedy,
        )  # fmt: skip
    except ValueError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(2) from exc
    if as_json:
        emit_json(found)
    else:
        out.print(
            f"{found['id']}: {found['state']} {found['remedy_zh']} {found['owner']} {found['due_date']}"
        )


@actions_app.command("do")
def actions_do(
    action_ids: Annotated[
        list[str] | None, typer.Argument(help="处理事项编号，可多个 / action ids, one or more")
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            help="该类别所有未处理的事项 / every open action of this category: missing_at_authority …"
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option(help="与 --category 同用：企业编号或税号 / with --category: tenant"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """执行处理。 Carry out the action's remedy (re-upload, letter, take the authority's record, void);
    under the tenant's four eyes, a remedy that changes something waits for `actions approve`.
    Several ids, or `--category` for every open action of a category (after an outage: all
    missing_at_authority back into the outbox), the re-uploads together (`bulk`)."""
    from dataclasses import asdict

    from fapiao.reconcile import remedies
    from fapiao.reconcile.engine import CATEGORIES

    if bool(action_ids) == bool(category) or (tenant and not category):
        err.print(
            "请给出事项编号，或 --category（可加 --tenant）/ give action ids, or --category "
            "(with --tenant if wanted)"
        )
        raise typer.Exit(2)
    if category and category not in CATEGORIES:
        err.print(f"--category 可选 / one of: {', '.join(CATEGORIES)}")
        raise typer.Exit(2)
    led = ledger()
    if action_ids and len(action_ids) == 1:
        try:
            done = remedies.perform(led, _action_id(action_ids[0]))
        except remedies.ActionError as exc:
            err.print(str(exc), highlight=False)
            raise typer.Exit(1) from exc
        _say_performed(done, as_json)
        return
    if action_ids:
        ids = [_action_id(text) for text in action_ids]
    else:
        tenant_id = _tenant_id(led, tenant) if tenant else None
        rows = remedies.list_actions(
            led.engine, tenant_id=tenant_id, state="open", category=category
        )
        ids = [int(r["id"]) for r in rows]
    performed, failed = _perform_each(led, ids)
    if as_json:
        emit_json(
            {
                "performed": [asdict(d) for d in performed],
                "failed": [{"action_id": i, "error": text} for i, text in failed],
            }
        )
    else:
        states = Counter(d.state for d in performed)
        shown = " · ".join(f"{vocabulary.word('action', s)} {n}" for s, n in sorted(states.items()))
        out.print(
            f"执行 performed {len(performed)}（{shown or '—'}）· 失败 failed {len(failed)}"
            "  (fapiao actions show ID)",
            highlight=False,
        )
    if failed:
        raise typer.Exit(1)


def _say_performed(done: Any, as_json: bool) -> None:
    """One carried-out action: its JSON, or a line and the letter drafted, if any."""
    from dataclasses import asdict

    if as_json:
        emit_json(asdict(done))
        return
    out.print(f"{done.action_id} {done.remedy} → {done.state}: {done.message}", highlight=False)
    if done.letter:
        out.print(done.letter, highlight=False)


def _perform_each(led: Any, ids: list[int]) -> tuple[list[Any], list[tuple[int, str]]]:
    """Each action carried out (`bulk.perform_all`: the re-uploads together), one that fails named
    on stderr and the rest carried out still; a bar on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from fapiao.reconcile import bulk, remedies

    performed, failed = [], []
    with Progress(
        TextColumn("执行 performing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task("do", total=len(ids))
        for action_id, outcome in bulk.perform_all(led, ids):
            if isinstance(outcome, remedies.ActionError):
                failed.append((action_id, str(outcome)))
                err.print(f"{action_id}: {outcome}", highlight=False)
            else:
                performed.append(outcome)
            bar.advance(task)
    return performed, failed


def _tenant_id(led: Any, tenant: str) -> int:
    """A tenant named by its id or tax ID; exit 2 when there is none."""
    from fapiao.ledger.keys import tenant_id_of

    with led.engine.connect() as conn:
        found = tenant_id_of(conn, tenant)
    if found is None:
        err.print(f"找不到企业 / no such tenant: {tenant}")
        raise typer.Exit(2)
    return found


@actions_app.command("approve")
def actions_approve(
    action_id: Annotated[str, typer.Argument(help="要批准的处理事项编号 / action id to approve")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """批准处理。 Four eyes: a second person approves a requested remedy, which is then carried out."""
    from fapiao.cli.base import refusal_exit
    from fapiao.reconcile import approval, remedies

    try:
        done = approval.approve(ledger(), _action_id(action_id))
    except remedies.ActionError as exc:
        raise refusal_exit(exc, as_json) from exc
    _say_performed(done, as_json)
