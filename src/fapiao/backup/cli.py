"""Backup commands: backup create|list|verify|restore|prune|status, drill."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
    plain,
    say_findings,
)
from fapiao.vocabulary import shown

# --- backup and drill ---------------------------------------------------------------------------

backup_app = typer.Typer(no_args_is_help=True, help="备份与恢复 / backup and restore")
app.add_typer(backup_app, name="backup")

TargetsOpt = Annotated[
    list[str],
    typer.Option(
        "--to",
        help="目录或 s3://BUCKET/PREFIX / directory or s3://BUCKET/PREFIX (AWS_ENDPOINT_URL)",
    ),
]


def _passphrase() -> str:
    import os

    from fapiao.backup import PASSPHRASE_ENV

    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        err.print(
            f"请在环境变量 {PASSPHRASE_ENV} 中提供备份口令 / set the backup passphrase in "
            f"${PASSPHRASE_ENV} (never as an argument)"
        )
        raise typer.Exit(2)
    return value


def _open_repo(spec: str) -> Any:
    from fapiao.backup import BackupError
    from fapiao.backup.repo import Repository
    from fapiao.backup.targets import parse_target

    passphrase = _passphrase()
    try:
        target = parse_target(spec)
    except BackupError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from exc
    try:
        return Repository.open(target, passphrase)
    except BackupError as exc:
        err.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@backup_app.command("create")
def backup_create(
    to: TargetsOpt,
    full: Annotated[
        bool, typer.Option("--full", help="全量，不引用上次备份 / full snapshot")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """备份到每个目标。 Back up the whole ledger to every target."""
    from fapiao.backup.create import create_backup
    from fapiao.backup.tables import record_runs

    # a target that cannot be opened (bad address, unreachable) is reported with the others
    passphrase = _passphrase()
    led = ledger()
    results = create_backup(led.engine, to, passphrase, full=full)
    record_runs(
        led,
        "backup",
        [
            {
                "target": r.target,
                "snapshot_id": r.snapshot_id,
                "ok": r.ok,
                "duration_ms": r.duration_ms,
                "detail": r.to_json(),
            }
            for r in results
        ],
    )
    if as_json:
        emit_json([r.to_json() for r in results])
    else:
        for r in results:
            if r.ok:
                out.print(
                    f"[green]✓[/] {r.target}: {r.kind} {r.snapshot_id} · {r.rows} rows · "
                    f"新存 stored {_size(r.stored_bytes)} of {_size(r.plain_bytes)} · "
                    f"{r.segments_new} new / {r.segments_kept} kept segments · {r.duration_ms} ms",
                    highlight=False,
                )
            else:
                out.print(f"[red]✗[/] {r.target}: {r.error}", highlight=False)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@backup_app.command("list")
def backup_list(
    to: TargetsOpt,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """备份列表。 List the snapshots on a target."""
    from fapiao.backup import BackupError

    rows: list[dict[str, Any]] = []
    failed = False
    for spec in to:
        repo = _open_repo(spec)
        try:
            ids = repo.snapshot_ids()
        except BackupError as exc:
            failed = True
            rows.append({"target": spec, "id": "", "error": str(exc)})
            continue
        for sid in ids:
            try:
                m = repo.load_manifest(sid)
            except BackupError as exc:
                failed = True
                rows.append({"target": spec, "id": sid, "error": str(exc)})
                continue
            rows.append(
                {
                    "target": spec,
                    "id": sid,
                    "created_at": m["created_at"],
                    "kind": m["kind"],
                    "parent": m["parent"],
                    "engine": m["engine"],
                    "events": m["head"]["seq"],
                    "rows": m["rows"],
                    "plain_bytes": m["plain_bytes"],
                }
            )
    if as_json:
        emit_json(rows)
    else:
        for spec in to:
            out.print(_snapshots_table(spec, [r for r in rows if r["target"] == spec]))
    raise typer.Exit(1 if failed else 0)


_KINDS = {"full": "全量", "incremental": "增量"}  # full / incremental


def _snapshots_table(target: str, rows: list[dict[str, Any]]) -> Table:
    """One target's snapshots under its name, each id whole (`restore --id` takes it: cut to fit
    80 columns it was of no use); events and rows are in `--json`."""
    table = Table(title=plain(target), title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("快照\nid", no_wrap=True)
    table.add_column("时间\ncreated", no_wrap=True)
    table.add_column("类型\nkind", no_wrap=True)
    table.add_column("大小\nsize", justify="right", no_wrap=True)
    for r in rows:
        if "error" in r:
            table.add_row(r["id"], "[red]" + plain(r["error"]) + "[/]", "", "")
            continue
        kind = _KINDS.get(r["kind"], r["kind"])
        table.add_row(r["id"], shown(r["created_at"]), kind, _size(r["plain_bytes"]))
    return table


@backup_app.command("verify")
def backup_verify(
    to: TargetsOpt,
    snapshot: Annotated[
        str | None, typer.Option("--id", help="一个快照（默认全部）/ one snapshot (default: all)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """校验备份（读取全部数据）。 Re-read every chunk and check every hash."""
    from fapiao.backup import BackupError
    from fapiao.backup.verify import VerifyReport, verify_repo
    from fapiao.findings import finding

    reports: list[VerifyReport] = []
    for spec in to:
        try:
            reports.append(verify_repo(_open_repo(spec), snapshot))
        except BackupError as exc:  # the target failed midway (network, disk)
            reports.append(
                VerifyReport(spec, problems=[finding("unreadable", spec, detail=str(exc))])
            )
    if as_json:
        emit_json([r.to_json() for r in reports])
    else:
        for r in reports:
            mark = "[green]✓[/]" if r.ok else "[red]✗[/]"
            out.print(
                f"{mark} {r.target}: {len(r.snapshots)} snapshots, {r.segments} segments, "
                f"{r.chunks} chunks, {_size(r.bytes_read)} read",
                highlight=False,
            )
            say_findings(r.problems)
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


@backup_app.command("restore")
def backup_restore(
    source: Annotated[str, typer.Option("--from", help="备份位置 / backup target")],
    to_db: Annotated[
        str,
        typer.Option(
            "--to-db", help="空数据库：SQLite 路径或 URL / empty database: SQLite path or URL"
        ),
    ],
    snapshot: Annotated[
        str | None, typer.Option("--id", help="快照（默认最新）/ snapshot (default: newest)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """从备份恢复到空数据库。 Restore a snapshot into an empty database."""
    from fapiao.backup import BackupError
    from fapiao.backup.restore import restore

    repo = _open_repo(source)
    try:
        report = restore(repo, snapshot, to_db)
    except BackupError as exc:
        err.print(f"[red]✗[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        emit_json(report.to_json())
    else:
        out.print(
            f"[green]✓[/] 已恢复 restored {report.snapshot_id}: {report.rows} rows in "
            f"{report.seconds:.1f} s",
            highlight=False,
        )


@backup_app.command("prune")
def backup_prune(
    to: TargetsOpt,
    daily: Annotated[int, typer.Option("--keep-daily", help="最近 N 天各留一份")] = 0,
    weekly: Annotated[int, typer.Option("--keep-weekly", help="最近 N 周各留一份")] = 0,
    monthly: Annotated[int, typer.Option("--keep-monthly", help="最近 N 月各留一份")] = 0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只列出将删除的备份 / list, delete nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """清理旧备份。 Keep daily/weekly/monthly snapshots, delete the rest and unneeded chunks."""
    from fapiao.backup import BackupError
    from fapiao.backup.prune import PruneReport, prune_repo
    from fapiao.backup.repo import Repository
    from fapiao.backup.tables import record_runs
    from fapiao.backup.targets import parse_target

    if min(daily, weekly, monthly) < 0 or max(daily, weekly, monthly) == 0:
        err.print(
            "请至少指定一个保留数（--keep-daily/--keep-weekly/--keep-monthly ≥ 1）/ give at least "
            "one of --keep-daily/--keep-weekly/--keep-monthly ≥ 1: pruning would delete everything"
        )
        raise typer.Exit(2)
    keep = {"daily": daily, "weekly": weekly, "monthly": monthly}
    passphrase = _passphrase()
    led = None if dry_run else ledger()  # deletions go into the audit chain: opened before them
    reports: list[PruneReport] = []
    for spec in to:  # a target that fails is reported; the others are still pruned
        try:
            repo = Repository.open(parse_target(spec), passphrase)
        except BackupError as exc:
            reports.append(PruneReport(spec, dry_run, error=str(exc)))
            continue
        reports.append(prune_repo(repo, keep, dry_run=dry_run))
    if led is not None:
        runs = [{"target": r.target, "ok": r.ok, "detail": r.to_json()} for r in reports]
        record_runs(led, "prune", runs)
    if as_json:
        emit_json([r.to_json() for r in reports])
    else:
        verb = "将删除 would remove" if dry_run else "已删除 removed"
        for r in reports:
            if not r.ok:
                out.print(f"[red]✗[/] {r.target}: {r.error}", highlight=False)
                continue
            out.print(
                f"[green]✓[/] {r.target}: 保留 kept {len(r.keep)} · {verb} {len(r.remove)} "
                f"snapshots, {r.chunks_removed} chunks",
                highlight=False,
            )
            for sid in r.remove:
                out.print(f"  - {sid}", highlight=False)
    raise typer.Exit(0 if all(r.ok for r in reports) else 1)


@backup_app.command("status")
def backup_status(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """最近备份与演练。 Age of the last good backup and the last drill's result."""
    from fapiao.backup.tables import last_runs

    status = last_runs(ledger().engine)
    if as_json:
        emit_json(status)
        return
    b, d = status["last_backup"], status["last_drill"]
    if b:
        out.print(
            f"最近备份 last backup: {shown(b['at'])} ({status['last_backup_age_s']} s ago) "
            f"{b['target']} {b['snapshot_id']}",
            highlight=False,
        )
    else:
        out.print("[yellow]还没有成功的备份 / no good backup yet[/]")
    if d:
        mark = "[green]✓[/]" if d["status"] == "ok" else "[red]✗[/]"
        out.print(f"最近演练 last drill: {mark} {shown(d['at'])} {d['target']}", highlight=False)
    else:
        out.print("[yellow]还没有恢复演练 / no drill yet[/]")


@app.command("drill")
def drill_cmd(
    source: Annotated[str, typer.Option("--from", help="备份位置 / backup target")],
    scratch: Annotated[
        str | None,
        typer.Option(
            "--scratch",
            help="空白演练数据库（默认临时 SQLite）/ empty scratch database (default: temp SQLite)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """恢复演练。 Restore the newest backup to a scratch database and check it."""
    from fapiao.backup.drill import run_drill

    repo = _open_repo(source)
    report = run_drill(ledger(), repo, scratch=scratch)
    if as_json:
        emit_json(report.to_json())
    else:
        mark = "[green]✓[/]" if report.ok else "[red]✗[/]"
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in report.steps.items())
        out.print(f"{mark} 演练 drill {report.snapshot_id}: {steps}", highlight=False)
        for p in report.problems:
            out.print(f"  [red]✗[/] {p}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)
