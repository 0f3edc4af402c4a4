"""Authority commands: issue, sync (the sandbox platform: `fapiao_dev.cli`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
    plain,
    say_findings,
)

# --- authority: issue, sync --------------------------------------------------------------------


@app.command("issue")
def issue_cmd(
    drafts: Annotated[
        list[Path],
        typer.Argument(
            help="开票草稿 JSON 文件（无号码）/ draft JSON files (canonical, no number)"
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """开具发票（草稿入队）。 Queue drafts for issuing; the authority assigns the numbers."""
    from fapiao.sync.drafts import record_drafts

    led = ledger()
    if not led.tenants():
        err.print(
            "没有企业，请先 `fapiao tenant add` / no tenant yet: run `fapiao tenant add` first"
        )
        raise typer.Exit(2)
    outcomes = record_drafts(led, drafts)
    queued = [o.to_json() for o in outcomes if o.id]
    rejected = [o for o in outcomes if not o.id]
    if as_json:
        emit_json({"queued": queued, "rejected": [o.to_json() for o in rejected]})
    else:
        out.print(f"已入队 queued {len(queued)} · 拒收 rejected {len(rejected)}")
        for o in rejected:
            out.print(f"[red]✗[/] {plain(o.file)}", highlight=False)
            say_findings(o.findings, indent="    ")
    raise typer.Exit(1 if rejected else 0)


@app.command("sync")
def sync_cmd(
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="税务平台地址（默认 $FAPIAO_AUTHORITY）/ platform URL (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="处理完当前队列后退出 / drain what it can, then exit")
    ] = False,
    status: Annotated[
        bool, typer.Option("--status", help="显示队列和断路器 / show the queue and breaker")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    batch: Annotated[int, typer.Option(help="每次请求的发票数 / invoices per request")] = 500,
    timeout: Annotated[float, typer.Option(help="每次请求超时秒数 / seconds per request")] = 10.0,
    max_seconds: Annotated[
        float | None, typer.Option(help="运行时长上限 / stop after this long")
    ] = None,
    confirm_after: Annotated[
        float, typer.Option(help="首次回读等待秒数 / first read-back after (s)")
    ] = 0.2,
    missing_after: Annotated[
        float, typer.Option(help="超过此秒数未见即视为缺失 / absent this long = missing (s)")
    ] = 5.0,
) -> None:
    """同步到税务平台。 Run the outbox worker: upload, retry, read back."""
    import os
    import signal
    import threading

    from fapiao.authority.http import HttpConnector
    from fapiao.sync.status import sync_status
    from fapiao.sync.worker import Settings, Worker

    led = ledger()
    if status:
        report = sync_status(led.engine)
        if as_json:
            emit_json(report)
        else:
            mode = "[red]离线 offline[/]" if report["offline"] else "[green]在线 online[/]"
            breaker = report["breaker"]
            out.print(f"{mode} 熔断器 breaker={breaker['state']} {plain(breaker['reason'])}")
            out.print(" · ".join(f"{k} {v}" for k, v in report["counts"].items()))
            for p in report["parked"]:
                out.print(
                    f"  [yellow]暂停 parked[/] {p['identity_key']} {p['op']}: "
                    + plain(str(p["last_error"]))
                )
        raise typer.Exit(0)
    url = authority or os.environ.get("FAPIAO_AUTHORITY")
    if not url:
        err.print("需要 --authority URL 或 $FAPIAO_AUTHORITY / --authority URL is required")
        raise typer.Exit(2)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings(
        batch_size=batch, confirm_after_s=confirm_after, missing_after_s=missing_after
    )

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if not as_json:
            err.print(f"同步 sync: {kind} {plain(str(data.get('reason', '')))}", highlight=False)

    with HttpConnector(url, timeout=timeout) as conn:
        worker = Worker(led, conn, settings, on_event=on_event)
        try:
            stats = worker.run(once=once, max_seconds=max_seconds, stop=stop)
        except KeyboardInterrupt:
            stats = worker.stats
    report = {**sync_status(led.engine), "run": stats.to_json()}
    if as_json:
        emit_json(report)
    else:
        c = report["counts"]
        mode = "离线 offline" if report["offline"] else "在线 online"
        out.print(
            f"{mode} · 已确认 confirmed {c['confirmed']} · 待发 queued {c['outbox_pending']} · "
            f"待确认 awaiting read-back {c['outbox_sent']} · 搁置 parked {c['outbox_parked']}"
        )
    raise typer.Exit(0 if not once or report["drained"] else 1)
