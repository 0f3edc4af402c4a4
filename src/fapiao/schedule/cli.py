"""`fapiao schedule add|list|remove|run`: the habits fapiao keeps by itself (and cron's entry)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fapiao.cli.base import State, app, emit_json, err, ledger, out
from fapiao.ledger.db import open_engine
from fapiao.schedule import jobs, runner, timing
from fapiao.vocabulary import shown

schedule_app = typer.Typer(no_args_is_help=True, help="定时任务 / schedules")
app.add_typer(schedule_app, name="schedule")

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]


@schedule_app.command(
    "add", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def schedule_add(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="任务 / job: " + " / ".join(jobs.JOBS))],
    every: Annotated[
        str | None,
        typer.Option("--every", help="间隔，如 5s、10m、2h、1d / interval: 5s, 10m, 2h, 1d"),
    ] = None,
    cron: Annotated[
        str | None,
        typer.Option(
            "--cron",
            help='定时表达式（北京时间）/ cron expression, e.g. "0 2 * * *" (Asia/Shanghai)',
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="名称（默认任务名）/ name (default: the job's name)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """添加定时任务。 Run JOB on a schedule; what follows `--` is the job's arguments.

    e.g. `fapiao schedule add backup --cron "0 2 * * *" -- --to /mnt/nas/fapiao`"""
    if job not in jobs.JOBS:
        err.print(f"未知任务 / unknown job {job!r}: {', '.join(jobs.JOBS)}", highlight=False)
        raise typer.Exit(2)
    try:
        when = timing.parse(every, cron)
        added = runner.add(ledger(), job, when, list(ctx.args), name=name)
    except timing.TimingError as exc:
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
        raise typer.Exit(2) from exc
    except runner.ScheduleError as exc:
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
        raise typer.Exit(2 if exc.code == "bad_args" else 1) from exc
    if as_json:
        emit_json({"name": added, "job": job, "when": when.text(), "args": ctx.args})
    else:
        out.print(f"定时任务 schedule {added}: {job} {when.text()} {' '.join(ctx.args)}")


@schedule_app.command("list")
def schedule_list(as_json: JsonOpt = False) -> None:
    """定时任务列表。 Schedules with their last run, its result, and the next run."""
    rows = runner.listing(open_engine(State.db))
    if as_json:
        emit_json(rows)
        return
    table = Table("名称 name", "任务 job", "时间 when", "上次 last", "结果 result", "下次 next")
    marks = {True: "[green]✓[/] ", False: "[red]✗[/] ", None: ""}
    for r in rows:
        table.add_row(
            r["name"],
            f"{r['job']} {' '.join(r['args'])}",
            r["when"],
            shown(r["last_finished"]) or "-",
            marks[r["last_ok"]] + r["last_result"][:60],
            r["next_run"],
        )
    out.print(table)


@schedule_app.command("remove")
def schedule_remove(
    name: Annotated[str, typer.Argument(help="定时任务名 / schedule name")],
    as_json: JsonOpt = False,
) -> None:
    """删除定时任务。 Remove a schedule."""
    try:
        runner.remove(ledger(), name)
    except runner.ScheduleError as exc:
        err.print(f"{exc.zh} / {exc.en}", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        emit_json({"removed": name})
    else:
        out.print(f"已删除 removed {name}")


@schedule_app.command("run")
def schedule_run(as_json: JsonOpt = False) -> None:
    """运行到期任务。 Run what is due, once, and exit (for cron: `* * * * * fapiao schedule run`)."""
    ran = runner.run_due(open_engine(State.db), State.db)
    if as_json:
        emit_json({n: {"ok": o.ok, "result": o.summary} for n, o in ran.items()})
    else:
        for n, o in ran.items():
            out.print(f"{'[green]✓[/]' if o.ok else '[red]✗[/]'} {n}: {o.summary}", highlight=False)
        if not ran:
            out.print("没有到期的任务 / nothing due")
    raise typer.Exit(0 if all(o.ok for o in ran.values()) else 1)
