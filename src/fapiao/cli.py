"""The command line (DESIGN.md's stable contract). Exit codes: 0 done, 1 inputs rejected or a check
failed, 2 usage error. Listing commands take --json. Only this module and web know Typer/FastAPI.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fapiao.codec import invoice_to_json
from fapiao.findings import Finding, has_errors
from fapiao.ledger import audit, queries
from fapiao.ledger.db import open_engine
from fapiao.ledger.imports import Outcome
from fapiao.ledger.store import Ledger
from fapiao.ops import logs as oplog

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="fapiao: 发票台账 / invoice ledger"
)
tenant_app = typer.Typer(no_args_is_help=True, help="企业（账簿主体） / companies in this ledger")
audit_app = typer.Typer(no_args_is_help=True, help="审计链 / audit chain")
app.add_typer(tenant_app, name="tenant")
app.add_typer(audit_app, name="audit")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class State:
    db: str | None = None


@app.callback()
def _main(
    db: Annotated[
        str | None, typer.Option("--db", help="SQLite path or database URL (default: $FAPIAO_DB)")
    ] = None,
) -> None:
    State.db = db
    oplog.configure(default_level="warning")  # JSON operation log; $FAPIAO_LOG_LEVEL, $FAPIAO_LOG


def ledger() -> Ledger:
    return Ledger(open_engine(State.db))


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def say_findings(findings: list[Finding] | list[dict[str, Any]], *, indent: str = "  ") -> None:
    for f in findings:
        d = f.to_json() if isinstance(f, Finding) else f
        colour = "red" if d["severity"] == "error" else "yellow"
        err.print(
            f"{indent}[{colour}]{d['severity']}[/] {d['code']} {d['field']}: {d['message']} / {d['message_en']}",
            highlight=False,
        )


# --- tenants ------------------------------------------------------------------------------------


@tenant_app.command("add")
def tenant_add(
    tax_id: Annotated[str, typer.Option("--tax-id", help="纳税人识别号")],
    name: Annotated[str, typer.Option("--name", help="企业名称")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a company whose books this ledger keeps. 添加企业。"""
    tenant_id, findings = ledger().add_tenant(tax_id=tax_id, name=name)
    if as_json:
        emit_json({"id": tenant_id, "findings": [f.to_json() for f in findings]})
    elif findings:
        say_findings(findings)
    else:
        out.print(f"tenant {tenant_id}: {tax_id} {name}")
    raise typer.Exit(1 if findings else 0)


@tenant_app.command("list")
def tenant_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the companies. 企业列表。"""
    rows = ledger().tenant_rows()
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "纳税人识别号 tax ID", "名称 name")
    for r in rows:
        table.add_row(str(r["id"]), r["tax_id"], r["name"])
    out.print(table)


# --- parse and import ---------------------------------------------------------------------------


@app.command("parse")
def parse_cmd(
    files: Annotated[list[Path], typer.Argument(help="files to read")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Parse and validate; store nothing. 解析并校验，不入账。"""
    from fapiao.ingest import to_incoming, walk
    from fapiao.validate import Context

    ctx = Context()
    results: list[dict[str, Any]] = []
    failed = False
    for source in walk(files):
        for item in to_incoming(source, ctx):
            doc: dict[str, Any] = (
                invoice_to_json(item.invoice) if item.invoice else {"file": item.file}
            )
            doc["file"] = item.file
            doc["findings"] = [f.to_json() for f in item.findings]
            failed = failed or item.invoice is None or has_errors(item.findings)
            results.append(doc)
            if not as_json:
                mark = (
                    "[red]✗[/]" if has_errors(item.findings) or not item.invoice else "[green]✓[/]"
                )
                label = f"{doc.get('code', '')} {doc.get('number', '')} {doc.get('total', '')}"
                out.print(f"{mark} {item.file}  {label}", highlight=False)
                say_findings(item.findings, indent="    ")
    if as_json:
        emit_json(results)
    raise typer.Exit(1 if failed else 0)


@app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="files and folders")],
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object at the end")] = False,
    ndjson: Annotated[
        bool, typer.Option("--ndjson", help="one JSON line per outcome as each batch commits")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="inputs per transaction / 每批提交条数")
    ] = 1000,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="查验 received invoices at once (default: $FAPIAO_VERIFY_ON_IMPORT)",
        ),
    ] = None,
) -> None:
    """Import invoices: duplicates and rejects reported, rejects quarantined. 导入发票。"""
    from fapiao.ingest import count_files, import_paths

    led = ledger()
    if not led.tenants():
        err.print(
            "没有企业，请先 `fapiao tenant add` / no tenant yet: run `fapiao tenant add` first"
        )
        raise typer.Exit(2)

    def on_outcome(o: Outcome) -> None:
        if ndjson:
            sys.stdout.write(
                json.dumps({"status": o.status, **o.to_json()}, ensure_ascii=False) + "\n"
            )
            sys.stdout.flush()

    show_bar = not quiet and err.is_terminal
    with Progress(
        TextColumn("导入 importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_bar,
    ) as bar:
        task = bar.add_task("import", total=count_files(paths) if show_bar else None)
        summary = import_paths(
            led,
            paths,
            on_outcome=on_outcome,
            on_file=lambda: bar.advance(task),
            batch_size=batch_size,
            keep=not ndjson,
        )
    from fapiao.ledger import search_index

    search_index.catch_up(led.engine)  # the new invoices become searchable
    from fapiao.insight import settings as insight_settings

    checked: list[Any] = []
    if verify or (verify is None and insight_settings.flag(insight_settings.VERIFY_ON_IMPORT)):
        from fapiao.insight.verify import received_only

        ids = received_only(led.engine, [int(o.id) for o in summary.imported if o.id])
        checked = run_verify(led, _authority_url(None), ids) if ids else []
    if as_json:
        extra = {"verified": [o.to_json() for o in checked]} if checked else {}
        emit_json(summary.to_json() | extra)
    elif not ndjson:
        c = summary.counts
        out.print(
            f"导入 imported {c.get('imported', 0)} · 重复 duplicates {c.get('duplicate', 0)} · "
            f"冲突 conflicts {c.get('conflict', 0)} · 拒收 rejected {c.get('rejected', 0)}"
        )
        for o in summary.rejected:
            out.print(f"[red]✗[/] {o.file}", highlight=False)
            say_findings(o.findings, indent="    ")
        for o in summary.conflicts:
            out.print(f"[yellow]≠[/] {o.file}: {o.number} {', '.join(o.fields)}", highlight=False)
        for o in checked:
            mark = VERIFY_MARK.get(o.result, o.result)
            out.print(f"查验 {mark} {o.key} {', '.join(o.fields)}", highlight=False)
    raise typer.Exit(1 if summary.counts.get("rejected") else 0)


# --- list and show ------------------------------------------------------------------------------


@app.command("list")
def list_cmd(
    period: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    direction: Annotated[str | None, typer.Option(help="issued 销项 / received 进项")] = None,
    counterparty: Annotated[str | None, typer.Option(help="tax ID or part of the name")] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option(help="normal / red / void")] = None,
    authority_state: Annotated[str | None, typer.Option("--authority-state")] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    as_csv: Annotated[bool, typer.Option("--csv")] = False,
    category: Annotated[str | None, typer.Option(help="expense/revenue category code")] = None,
    verification: Annotated[
        str | None, typer.Option(help="查验: match / mismatch / not_found / unverified")
    ] = None,
) -> None:
    """List invoices. 发票列表。"""
    try:
        filters = queries.Filters(
            tenant=tenant,
            period=period,
            date_from=dt.date.fromisoformat(date_from) if date_from else None,
            date_to=dt.date.fromisoformat(date_to) if date_to else None,
            direction=direction,
            counterparty=counterparty,
            kind=kind,
            status=status,
            authority_state=authority_state,
        )
        if period:
            queries.period_bounds(period)
    except ValueError as exc:
        err.print(f"参数错误 / bad filter: {exc}")
        raise typer.Exit(2) from exc
    led = ledger()
    rows = queries.list_invoices(led.engine, filters)
    from fapiao.insight.annotate import annotate

    rows = annotate(led, rows, category=category, verification=verification)
    if as_json:
        _stream_json_array(rows)
    elif as_csv:
        _write_csv(rows)
    else:
        _print_table(rows)


def _stream_json_array(rows: Any) -> None:
    write = sys.stdout.write
    write("[")
    for n, row in enumerate(rows):
        write(("," if n else "") + "\n  " + json.dumps(row, ensure_ascii=False))
    write("\n]\n")


CSV_COLUMNS = [
    "id",
    "direction",
    "kind",
    "code",
    "number",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "amount",
    "tax",
    "total",
    "status",
    "authority_state",
    "source",
    "category",
    "verification",
]


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return row | {
        "seller_name": row["seller"]["name"],
        "seller_tax_id": row["seller"]["tax_id"],
        "buyer_name": row["buyer"]["name"],
        "buyer_tax_id": row["buyer"]["tax_id"],
        "verification": (row.get("verification") or {}).get("result", ""),
    }


def _write_csv(rows: Any) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(_flat(row))


def _print_table(rows: Any) -> None:
    table = Table(
        "id",
        "方向",
        "号码 number",
        "日期 date",
        "对方 counterparty",
        "价税合计 total",
        "状态",
        "上传 authority",
    )
    for row in rows:
        other = row["buyer"] if row["direction"] == "issued" else row["seller"]
        number = f"{row['code']}-{row['number']}" if row["code"] else row["number"]
        table.add_row(
            row["id"],
            "销" if row["direction"] == "issued" else "进",
            number,
            row["issue_date"],
            other["name"],
            row["total"],
            row["status"],
            row["authority_state"],
        )
    out.print(table)


@app.command("show")
def show_cmd(
    ref: Annotated[str, typer.Argument(help="id, 发票号码, or 发票代码-发票号码")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one invoice with its findings, original file and history. 发票详情。"""
    from fapiao.sync.outbox import history

    engine = ledger().engine
    found = queries.find_invoice(engine, ref)
    if found is None:
        err.print(f"未找到 / not found: {ref}")
        raise typer.Exit(1)
    found["authority_history"] = history(engine, int(found["id"]))
    from fapiao.insight.show import insight_of

    found.update(insight_of(Ledger(engine), int(found["id"])))
    if as_json:
        emit_json(found)
        return
    out.print_json(
        json.dumps(
            {k: v for k, v in found.items() if k not in ("events", "authority_history")},
            ensure_ascii=False,
        )
    )
    for e in found["events"]:
        out.print(f"  #{e['seq']} {e['at']} {e['actor']} {e['action']}")
    out.print("上传状态历史 / authority history:")
    for h in found["authority_history"]:
        if "outbox" in h:
            o = h["outbox"]
            out.print(
                f"  outbox {o['op']} {o['state']} attempts={o['attempts']} {o['last_error']}",
                highlight=False,
            )
        else:
            out.print(f"  {h['at']} {h['from']} → {h['authority_state']}", highlight=False)
    out.print(f"类别 category: {found['category']} ({found['category_source']})", highlight=False)
    out.print("查验 verification:")
    for v in found["verifications"]:
        fields = ", ".join(v["fields"])
        out.print(f"  {v['at'][:19]} {v['result']} {fields} {v.get('reason', '')}", highlight=False)


# --- audit --------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Walk the hash chain and check the current state against it. 校验审计链。"""
    report = audit.verify(ledger().engine)
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        out.print(
            f"[green]✓[/] 审计链完整 / audit chain intact: {report.events} events, {report.invoices} invoices"
        )
    else:
        out.print(f"[red]✗[/] 审计链损坏 / audit chain broken ({report.events} events read)")
        say_findings(report.problems)
    raise typer.Exit(0 if report.ok else 1)


# --- demo ---------------------------------------------------------------------------------------


@app.command("demo")
def demo_cmd(
    directory: Annotated[
        Path, typer.Option("--dir", help="where the demo ledger and files go")
    ] = Path("demo-data"),
    count: Annotated[int, typer.Option(help="how many invoices")] = 300,
) -> None:
    """Create a SQLite demo ledger with sample invoices and show the result. 演示。"""
    from fapiao.demo import run_demo

    raise typer.Exit(run_demo(directory, count, out, err))


# --- samples ------------------------------------------------------------------------------------


@app.command("samples")
def samples_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="输出目录 / output folder")],
    count: Annotated[int, typer.Option("--count", min=1, help="发票张数 / how many invoices")] = 20,
    formats: Annotated[
        str, typer.Option("--formats", help="xml,ofd,pdf,png (comma-separated)")
    ] = "xml,ofd,pdf,png",
    seed: Annotated[int, typer.Option("--seed", help="随机种子 / seed")] = 1,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Generate sample invoices with their expected JSON. 生成样例发票及其期望结果。"""
    from fapiao.samples import FORMATS, generate

    wanted = [f.strip() for f in formats.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        err.print(
            f"未知格式 / unknown formats: {', '.join(unknown) or '(none)'}; known: {', '.join(FORMATS)}"
        )
        raise typer.Exit(2)
    written = generate(out_dir, count, wanted, seed)
    if as_json:
        emit_json([str(p) for p in written])
    else:
        out.print(f"{len(written)} 个文件 / files → {out_dir}", highlight=False)


# --- authority: issue, sync, sandbox ------------------------------------------------------------


@app.command("issue")
def issue_cmd(
    drafts: Annotated[list[Path], typer.Argument(help="draft JSON files (canonical, no number)")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Queue drafts for issuing; the authority assigns the numbers. 开具发票（草稿入队）。"""
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
            out.print(f"[red]✗[/] {o.file}", highlight=False)
            say_findings(o.findings, indent="    ")
    raise typer.Exit(1 if rejected else 0)


@app.command("sync")
def sync_cmd(
    authority: Annotated[
        str | None,
        typer.Option("--authority", help="platform URL (default: $FAPIAO_AUTHORITY)"),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="drain what it can, then exit")] = False,
    status: Annotated[bool, typer.Option("--status", help="show the queue and breaker")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    batch: Annotated[int, typer.Option(help="invoices per request")] = 500,
    timeout: Annotated[float, typer.Option(help="seconds per request")] = 10.0,
    max_seconds: Annotated[float | None, typer.Option(help="stop after this long")] = None,
    confirm_after: Annotated[float, typer.Option(help="first read-back after (s)")] = 0.2,
    missing_after: Annotated[float, typer.Option(help="absent this long = missing (s)")] = 5.0,
) -> None:
    """Run the outbox worker: upload, retry, read back. 同步到税务平台。"""
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
            out.print(f"{mode} breaker={report['breaker']['state']} {report['breaker']['reason']}")
            out.print(" · ".join(f"{k} {v}" for k, v in report["counts"].items()))
            for p in report["parked"]:
                out.print(f"  [yellow]parked[/] {p['identity_key']} {p['op']}: {p['last_error']}")
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
            err.print(f"sync: {kind} {data.get('reason', '')}", highlight=False)

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


@app.command("sandbox")
def sandbox_cmd(
    port: Annotated[int, typer.Option(help="0 picks a free port")] = 8400,
    faults: Annotated[Path | None, typer.Option("--faults", help="fault plan JSON")] = None,
    data: Annotated[Path, typer.Option("--data", help="the sandbox's own data dir")] = Path(
        "sandbox-data"
    ),
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
) -> None:
    """Run the simulated tax platform (faults on demand). 模拟税务平台。"""
    from fapiao.authority.faults import PlanError
    from fapiao.authority.sandbox import load_plan
    from fapiao.authority.sandbox_run import serve

    try:
        plan = load_plan(faults)
    except (OSError, ValueError, PlanError) as exc:
        err.print(f"故障计划无效 / bad fault plan {faults}: {exc}")
        raise typer.Exit(2) from exc
    serve(data, plan, host=host, port=port)


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
) -> None:
    """Run the web app and the REST API. 启动网页与 API。"""
    import os

    import uvicorn

    from fapiao.ledger.db import to_url

    os.environ["FAPIAO_DB"] = to_url(State.db)
    open_engine(State.db).dispose()  # migrate once, before the workers start
    from fapiao.ops import daily

    oplog.configure(default_level="info", force=True)
    daily.start(State.db)  # the self-check, once a day, kept in the history
    out.print(f"fapiao web: http://{host}:{port}/  (API: /api/v1, OpenAPI: /api/v1/openapi.json)")
    uvicorn.run(
        "fapiao.web.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
    )


# --- backup and drill ---------------------------------------------------------------------------

backup_app = typer.Typer(no_args_is_help=True, help="备份与恢复 / backup and restore")
app.add_typer(backup_app, name="backup")

TargetsOpt = Annotated[list[str], typer.Option("--to", help="directory (or s3://bucket/prefix)")]


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
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Back up the whole ledger to every target. 备份到每个目标。"""
    from fapiao.backup import BackupError
    from fapiao.backup.create import create_backup
    from fapiao.backup.tables import record_runs
    from fapiao.backup.targets import parse_target

    passphrase = _passphrase()
    for spec in to:
        try:
            parse_target(spec)
        except BackupError as exc:
            err.print(str(exc))
            raise typer.Exit(2) from exc
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
def backup_list(to: TargetsOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the snapshots on a target. 备份列表。"""
    from fapiao.backup import BackupError

    rows: list[dict[str, Any]] = []
    failed = False
    for spec in to:
        repo = _open_repo(spec)
        for sid in repo.snapshot_ids():
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
        table = Table("target", "id", "时间 created", "类型 kind", "事件 events", "行 rows", "size")
        for r in rows:
            if "error" in r:
                table.add_row(r["target"], r["id"], "[red]" + r["error"] + "[/]", "", "", "", "")
            else:
                table.add_row(
                    r["target"],
                    r["id"],
                    r["created_at"][:19],
                    r["kind"],
                    str(r["events"]),
                    str(r["rows"]),
                    _size(r["plain_bytes"]),
                )
        out.print(table)
    raise typer.Exit(1 if failed else 0)


@backup_app.command("verify")
def backup_verify(
    to: TargetsOpt,
    snapshot: Annotated[
        str | None, typer.Option("--id", help="one snapshot (default: all)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Re-read every chunk and check every hash. 校验备份（读取全部数据）。"""
    from fapiao.backup.verify import verify_repo

    reports = [verify_repo(_open_repo(spec), snapshot) for spec in to]
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
    source: Annotated[str, typer.Option("--from", help="backup target")],
    to_db: Annotated[str, typer.Option("--to-db", help="empty database: SQLite path or URL")],
    snapshot: Annotated[str | None, typer.Option("--id", help="snapshot (default: newest)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore a snapshot into an empty database. 从备份恢复到空数据库。"""
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


@backup_app.command("status")
def backup_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Age of the last good backup and the last drill's result. 最近备份与演练。"""
    from fapiao.backup.tables import last_runs

    status = last_runs(ledger().engine)
    if as_json:
        emit_json(status)
        return
    b, d = status["last_backup"], status["last_drill"]
    if b:
        out.print(
            f"最近备份 last backup: {b['at'][:19]} ({status['last_backup_age_s']} s ago) "
            f"{b['target']} {b['snapshot_id']}",
            highlight=False,
        )
    else:
        out.print("[yellow]还没有成功的备份 / no good backup yet[/]")
    if d:
        mark = "[green]✓[/]" if d["status"] == "ok" else "[red]✗[/]"
        out.print(f"最近演练 last drill: {mark} {d['at'][:19]} {d['target']}", highlight=False)
    else:
        out.print("[yellow]还没有恢复演练 / no drill yet[/]")


@app.command("drill")
def drill_cmd(
    source: Annotated[str, typer.Option("--from", help="backup target")],
    scratch: Annotated[
        str | None, typer.Option("--scratch", help="empty scratch database (default: temp SQLite)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Restore the newest backup to a scratch database and check it. 恢复演练。"""
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


# --- reconcile and remedies ---------------------------------------------------------------------

actions_app = typer.Typer(no_args_is_help=True, help="对账处理事项 / reconciliation remedies")
app.add_typer(actions_app, name="actions")

REPORT_SUFFIXES = (".html", ".htm", ".xlsx", ".json")


@app.command("reconcile")
def reconcile_cmd(
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority", help="export file/folder or platform URL (default: $FAPIAO_AUTHORITY)"
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    report: Annotated[
        Path | None, typer.Option("--out", help="report file: .html, .xlsx or .json")
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="auto / duckdb / database (PostgreSQL)")
    ] = "auto",
) -> None:
    """Compare the ledger with the authority's list; file each finding as an action. 对账。"""
    from fapiao.authority.errors import AuthorityError
    from fapiao.reconcile.engine import CATEGORIES
    from fapiao.reconcile.report import TITLES
    from fapiao.reconcile.run import UsageError, actions_index, run, write_report

    if report is not None and report.suffix.lower() not in REPORT_SUFFIXES:
        err.print(
            f"报告格式应为 .html、.xlsx 或 .json / --out must be .html, .xlsx or .json: {report}"
        )
        raise typer.Exit(2)
    if engine not in ("auto", "duckdb", "database"):
        err.print(f"--engine: auto / duckdb / database, not {engine!r}")
        raise typer.Exit(2)
    led = ledger()
    try:
        outcome = run(led, tenant=tenant, period=period, authority=authority, backend=engine)
    except (UsageError, ValueError) as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(2) from exc
    except AuthorityError as exc:
        err.print(f"税务平台不可用 / the authority failed: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    result = outcome.result
    if outcome.findings:
        say_findings(outcome.findings)
        if not outcome.result.records:
            err.print(
                f"[red]✗[/] 不是可用的全量发票查询导出 / not a usable export: {outcome.authority}"
            )
            raise typer.Exit(1)
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
        for cat in CATEGORIES:
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
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    state: Annotated[
        str | None, typer.Option(help="open / in_progress / resolved / waived / active")
    ] = "active",
    category: Annotated[str | None, typer.Option(help="missing_at_authority …")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the remedy actions (default: open and in progress). 处理事项列表。"""
    from fapiao.reconcile import remedies

    led = ledger()
    tenant_id = None
    if tenant:
        ids = [r["id"] for r in led.tenant_rows() if tenant in (str(r["id"]), r["tax_id"])]
        if not ids:
            err.print(f"找不到企业 / no such tenant: {tenant}")
            raise typer.Exit(2)
        tenant_id = ids[0]
    if state not in (None, "active", "all", *remedies.STATES):
        err.print(f"--state: {', '.join(remedies.STATES)}, active, all")
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
    for r in rows:
        table.add_row(
            r["id"],
            r["category"],
            r["identity_key"],
            r["remedy_zh"],
            r["state"],
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
    action_id: Annotated[str, typer.Argument(help="action id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One action with its finding and history. 处理事项详情。"""
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
        out.print(f"  #{h['seq']} {h['at'][:19]} {h['actor']} {h['action']}", highlight=False)


@actions_app.command("set")
def actions_set(
    action_id: Annotated[str, typer.Argument(help="action id")],
    state: Annotated[
        str | None, typer.Option(help="open / in_progress / resolved / waived")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="who handles it")] = None,
    due: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    note: Annotated[str | None, typer.Option(help="appended to the notes")] = None,
    remedy: Annotated[
        str | None, typer.Option(help="reupload / request_reissue / ask_copy …")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Change an action's state, owner, due date, remedy or add a note. 更新处理事项。"""
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
    action_id: Annotated[str, typer.Argument(help="action id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Carry out the action's remedy (re-upload, letter, take the authority's record, void). 执行处理。"""
    from dataclasses import asdict

    from fapiao.reconcile import remedies

    try:
        done = remedies.perform(ledger(), _action_id(action_id))
    except remedies.ActionError as exc:
        err.print(str(exc), highlight=False)
        raise typer.Exit(1) from exc
    if as_json:
        emit_json(asdict(done))
        return
    out.print(f"{done.action_id} {done.remedy} → {done.state}: {done.message}", highlight=False)
    if done.letter:
        out.print(done.letter, highlight=False)


# --- operations: self-check, notices, repair tickets ---------------------------------------------


@app.command("check")
def check_cmd(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    authority: Annotated[
        str | None, typer.Option("--authority", help="platform URL (default: $FAPIAO_AUTHORITY)")
    ] = None,
    record: Annotated[bool, typer.Option(help="keep the result in the check history")] = True,
) -> None:
    """Self-check: database, migrations, disk, originals, audit chain, sync, backups. 自检。"""
    from fapiao.cli_ops import run_check

    raise typer.Exit(run_check(State.db, as_json=as_json, authority=authority, record=record))


from fapiao.cli_ops import notice_app, ticket_app  # noqa: E402

app.add_typer(notice_app, name="notice")
app.add_typer(ticket_app, name="ticket")


from fapiao.cli_contingency import register as _register_contingency  # noqa: E402

_register_contingency(app)  # incident, pause, resume, manual, reissue, orders


# --- insight: 查验, statistics, classification, cross-tenant matching ----------------------------

classify_app = typer.Typer(
    no_args_is_help=True, help="费用/收入分类：类别表、规则、更正 / categories, rules, corrections"
)
app.add_typer(classify_app, name="classify")


def _tenant_ids(led: Ledger, tenant: str | None) -> list[int] | None:
    """None: every tenant; a tenant id or tax ID: that one (exit 2 when unknown)."""
    if not tenant:
        return None
    for row in led.tenant_rows():
        if tenant in (str(row["id"]), row["tax_id"]):
            return [row["id"]]
    err.print(f"未知企业 / unknown tenant: {tenant}")
    raise typer.Exit(2)


def _one_tenant(led: Ledger, tenant: str | None) -> int:
    ids = _tenant_ids(led, tenant)
    if ids is None:
        rows = led.tenant_rows()
        if len(rows) != 1:
            err.print("请用 --tenant 指定企业 / name the tenant with --tenant")
            raise typer.Exit(2)
        return int(rows[0]["id"])
    return ids[0]


def _authority_url(authority: str | None) -> str:
    from fapiao.insight import settings

    url = authority or settings.AUTHORITY.get()
    if not url:
        err.print("需要 --authority URL 或 $FAPIAO_AUTHORITY / --authority URL is required")
        raise typer.Exit(2)
    return url


def run_verify(led: Ledger, url: str, ids: list[int]) -> list[Any]:
    from fapiao.authority.http import HttpConnector
    from fapiao.insight import settings
    from fapiao.insight.verify import RateLimit, verify_invoices

    with HttpConnector(url) as conn:
        return verify_invoices(
            led,
            conn,
            ids,
            daily_limit=int(settings.number(settings.VERIFY_DAILY_LIMIT)),
            rate=RateLimit(settings.number(settings.VERIFY_RATE)),
        )


VERIFY_MARK = {
    "match": "[green]✓ 一致 match[/]",
    "mismatch": "[red]≠ 不符 mismatch[/]",
    "not_found": "[red]✗ 查无此票 not found[/]",
    "limited": "[yellow]… 次数已满 daily limit[/]",
    "error": "[yellow]! 出错 error[/]",
    "skipped": "[yellow]- 跳过 skipped[/]",
}


@app.command("verify")
def verify_cmd(
    ids: Annotated[
        list[str] | None, typer.Argument(help="invoice ids (default: by filters)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    counterparty: Annotated[str | None, typer.Option(help="tax ID or part of the name")] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    direction: Annotated[str, typer.Option(help="received 进项 (default) / issued")] = "received",
    unverified: Annotated[
        bool, typer.Option("--unverified", help="only invoices without an answer yet")
    ] = False,
    limit: Annotated[int, typer.Option(help="at most this many invoices (0: all)")] = 0,
    authority: Annotated[
        str | None, typer.Option("--authority", help="platform URL (default: $FAPIAO_AUTHORITY)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """查验: check invoices with the authority (5 a day per invoice). 发票查验。"""
    from fapiao.insight.verify import unverified as without_answer

    led = ledger()
    url = _authority_url(authority)
    if ids:
        if not all(i.isdigit() for i in ids):
            err.print("发票 id 须为数字 / invoice ids are numbers")
            raise typer.Exit(2)
        wanted = [int(i) for i in ids]
    else:
        try:
            filters = queries.Filters(
                tenant=tenant,
                period=period,
                date_from=dt.date.fromisoformat(date_from) if date_from else None,
                date_to=dt.date.fromisoformat(date_to) if date_to else None,
                direction=direction or None,
                counterparty=counterparty,
                kind=kind,
            )
            if period:
                queries.period_bounds(period)
        except ValueError as exc:
            err.print(f"参数错误 / bad filter: {exc}")
            raise typer.Exit(2) from exc
        wanted = [int(r["id"]) for r in queries.list_invoices(led.engine, filters)]
    if unverified:
        wanted = without_answer(led.engine, wanted)
    if limit > 0:
        wanted = wanted[:limit]
    outcomes = run_verify(led, url, wanted)
    if as_json:
        emit_json([o.to_json() for o in outcomes])
    else:
        for o in outcomes:
            extra = f" {', '.join(o.fields)}" if o.fields else ""
            reason = f" ({o.reason})" if o.reason else ""
            out.print(
                f"{VERIFY_MARK.get(o.result, o.result)} {o.invoice_id} {o.key}{extra}{reason}",
                highlight=False,
            )
        counts: dict[str, int] = {}
        for o in outcomes:
            counts[o.result] = counts.get(o.result, 0) + 1
        out.print(" · ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "0")
    raise typer.Exit(0 if all(o.result == "match" for o in outcomes) else 1)


@app.command("stats")
def stats_cmd(
    tenant: Annotated[
        str | None, typer.Option(help="tenant id or tax ID (default: every tenant)")
    ] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY")] = None,
    top: Annotated[int, typer.Option(help="top counterparties shown (0: all)")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    xlsx: Annotated[
        Path | None, typer.Option("--xlsx", help="write the statistics to FILE.xlsx")
    ] = None,
) -> None:
    """Statistics per tenant and period. 统计分析。"""
    from fapiao.insight import stats

    led = ledger()
    try:
        report = stats.compute(led, tenant_ids=_tenant_ids(led, tenant), period=period, top=top)
    except stats.PeriodError as exc:
        err.print(f"参数错误 / bad period: {exc}")
        raise typer.Exit(2) from exc
    if xlsx is not None:
        xlsx.write_bytes(stats.to_xlsx(report))
    if as_json:
        emit_json(report)
        return
    if xlsx is not None:
        out.print(f"→ {xlsx}", highlight=False)
        return
    for t in report["tenants"]:
        out.print(
            f"[bold]{t['tenant']['name']}[/] {t['tenant']['tax_id']} {report['period'] or ''}",
            highlight=False,
        )
        for d, label in (("issued", "销项 issued"), ("received", "进项 received")):
            s = t["totals"][d]
            out.print(
                f"  {label}: {s['count']} 张, 金额 {s['amount']}, 税额 {s['tax']}, 价税合计 {s['total']}",
                highlight=False,
            )
        tx = t["tax"]
        out.print(
            f"  销项税额 output {tx['output']} − 进项税额 input {tx['input']} = {tx['net']}",
            highlight=False,
        )
        out.print(
            f"  红字 red {t['red']['count']} ({t['red']['share']:.2%}) · 作废 void {t['void']['count']} ({t['void']['share']:.2%})"
        )
        table = Table("类别 category", "方向", "张数", "金额 amount", "税额 tax")
        for c in t["by_category"]:
            table.add_row(
                f"{c['zh']} {c['category']}",
                c["direction"],
                str(c["invoices"]),
                c["amount"],
                c["tax"],
            )
        out.print(table)
        table = Table("对方 counterparty", "方向", "张数", "价税合计 total")
        for d in ("issued", "received"):
            for p in t["top_counterparties"][d]:
                table.add_row(f"{p['name']} {p['tax_id']}", d, str(p["count"]), p["total"])
        out.print(table)
        states = " · ".join(f"{s['state']} {s['count']}" for s in t["by_authority_state"])
        out.print(f"  税务平台 authority: {states}", highlight=False)
        if t["verification"]:
            out.print(
                "  查验: " + " · ".join(f"{k} {v}" for k, v in sorted(t["verification"].items()))
            )


@classify_app.command("table")
def classify_table(
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The category table (defaults and the tenant's own). 类别表。"""
    from fapiao.insight.categories import table_for

    led = ledger()
    rows = [c.to_json() for c in table_for(led.engine, _one_tenant(led, tenant))]
    if as_json:
        emit_json(rows)
        return
    table = Table("代码 code", "名称", "name", "简称 short names", "编码前缀 code prefixes")
    for r in rows:
        table.add_row(
            r["code"], r["zh"], r["en"], " ".join(r["short_names"]), " ".join(r["code_prefixes"])
        )
    out.print(table)


@classify_app.command("set")
def classify_set(
    code: Annotated[str, typer.Argument(help="category code, e.g. meals")],
    zh: Annotated[str, typer.Option("--zh", help="中文名称")],
    en: Annotated[str, typer.Option("--en", help="English name")] = "",
    short_name: Annotated[
        list[str] | None, typer.Option("--short-name", help="税收分类 short name (repeat)")
    ] = None,
    code_prefix: Annotated[
        list[str] | None, typer.Option("--code-prefix", help="prefix of the 19-digit code (repeat)")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
) -> None:
    """Add or change a category in the tenant's table. 添加或修改类别。"""
    from fapiao.insight.categories import Category, CategoryError, set_category

    led = ledger()
    try:
        set_category(
            led,
            _one_tenant(led, tenant),
            Category(code, zh, en, tuple(short_name or ()), tuple(code_prefix or ())),
        )
    except CategoryError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc
    out.print(f"category {code} set")


@classify_app.command("correct")
def classify_correct(
    invoice: Annotated[str, typer.Argument(help="invoice id")],
    category: Annotated[str, typer.Argument(help="category code")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Set an invoice's category; repeated corrections teach a counterparty rule. 更正类别。"""
    from fapiao.insight.categories import CategoryError, correct

    if not invoice.isdigit():
        err.print("发票 id 须为数字 / the invoice id is a number")
        raise typer.Exit(2)
    try:
        done = correct(ledger(), int(invoice), category)
    except CategoryError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc
    result = {
        "id": invoice,
        "category": category,
        "rule": done.rule,
        "reclassified": done.reclassified,
    }
    if as_json:
        emit_json(result)
        return
    out.print(f"invoice {invoice} → {category}")
    if done.rule:
        r = done.rule
        out.print(
            f"规则 rule learned: {r['counterparty_tax_id']} ({r['direction']}) → {r['category']}; {done.reclassified} invoices moved"
        )


@classify_app.command("rule")
def classify_rule(
    counterparty: Annotated[str, typer.Option("--counterparty", help="counterparty tax ID")],
    category: Annotated[str, typer.Option("--category", help="category code")],
    direction: Annotated[str, typer.Option(help="received 进项 / issued 销项")] = "received",
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
) -> None:
    """Set a counterparty → category rule by hand. 设置对方→类别规则。"""
    from fapiao.insight.categories import CategoryError, set_rule

    led = ledger()
    try:
        _rule, moved = set_rule(led, _one_tenant(led, tenant), direction, counterparty, category)
    except CategoryError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc
    out.print(f"rule {counterparty} → {category}: {moved} invoices moved")


@classify_app.command("rules")
def classify_rules(
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The counterparty → category rules. 规则列表。"""
    from fapiao.insight.categories import rules

    led = ledger()
    ids = _tenant_ids(led, tenant)
    rows = rules(led.engine, ids[0] if ids else None)
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "tenant", "对方 counterparty", "方向", "类别 category", "来源 source", "依据 evidence"
    )
    for r in rows:
        table.add_row(
            str(r["tenant_id"]),
            r["counterparty_tax_id"],
            r["direction"],
            r["category"],
            r["source"],
            str(r["evidence"]),
        )
    out.print(table)


@classify_app.command("run")
def classify_run(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Classify what changed since the last run. 分类新发票。"""
    from fapiao.insight import facts

    led = ledger()
    n = facts.refresh(led)
    if as_json:
        emit_json({"classified": n, "invoices": facts.count(led)})
    else:
        out.print(f"分类 classified {n} · 共 total {facts.count(led)}")


@app.command("match")
def match_cmd(
    tenant: Annotated[str | None, typer.Option(help="tenant id or tax ID")] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM or YYYY")] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="put findings on the invoices")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Match issued and received records of invoices between tenants. 跨企业对票。"""
    from fapiao.insight import match as matching

    led = ledger()
    try:
        if period:
            queries.period_bounds(period)
    except ValueError as exc:
        err.print(f"参数错误 / bad period: {exc}")
        raise typer.Exit(2) from exc
    report = matching.match(led.engine, tenant_ids=_tenant_ids(led, tenant), period=period)
    if record:
        matching.record(led, report)
    if as_json:
        emit_json(report.to_json())
    else:
        out.print(
            f"跨企业发票 pairs {report.pairs} · 一致 matched {report.matched} · 差异 differences {report.differences}"
        )
        for cat, entries in report.entries.items():
            for e in entries:
                fields = ", ".join(
                    f"{k}: {v['issued']} ≠ {v['received']}" for k, v in e.fields.items()
                )
                out.print(
                    f"  [yellow]{cat}[/] {e.code}{'-' if e.code else ''}{e.number} {e.seller['name']} → {e.buyer['name']} {fields}",
                    highlight=False,
                )
    raise typer.Exit(1 if report.differences else 0)


# --- printouts ----------------------------------------------------------------------------------


@app.command("print")
def print_cmd(
    target: Annotated[
        list[str],
        typer.Argument(
            help="id / 发票号码 of one invoice, or list filters as key=value: period= from= to= "
            "direction= kind= status= authority_state= counterparty= q= tenant= sort= order="
        ),
    ],
    out_file: Annotated[Path, typer.Option("--out", help="the PDF file to write 输出文件")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print one invoice, or a filtered list with totals, to PDF. 打印发票或发票清单（PDF）。"""
    from fapiao.printing import invoice_pdf, list_pdf
    from fapiao.web import search

    if not out_file.parent.is_dir():
        err.print(f"目录不存在 / no such directory: {out_file.parent}")
        raise typer.Exit(2)
    led = ledger()
    names = {r["id"]: r["name"] for r in led.tenant_rows()}
    if len(target) == 1 and "=" not in target[0]:
        found = queries.find_invoice(led.engine, target[0])
        if found is None:
            err.print(f"未找到 / not found: {target[0]}")
            raise typer.Exit(1)
        body, count, cut = invoice_pdf(found, tenant_name=names.get(found["tenant_id"])), 1, False
    else:
        params: dict[str, str] = {}
        for item in target:
            key, sep, value = item.partition("=")
            if not sep:
                err.print(f"筛选条件应为 key=value / a filter is key=value: {item}")
                raise typer.Exit(2)
            params[key.strip()] = value
        tenant = params.get("tenant", "").strip().upper()
        if tenant and not tenant.isdigit():
            params["tenant"] = str(led.tenants().get(tenant, -1))
        try:
            q = search.Query.from_params(params)
        except search.BadQuery as exc:
            err.print(f"参数错误 / bad filter: {exc}")
            raise typer.Exit(2) from exc
        shown = " ".join(f"{k}={v}" for k, v in params.items())
        if q.tenant is not None:
            shown = f"{names.get(q.tenant, q.tenant)} · {shown}"
        body, count, cut = list_pdf(search.stream(led.engine, q, None), subtitle=shown)
    tmp = out_file.with_name(out_file.name + ".part")
    tmp.write_bytes(body)
    tmp.replace(out_file)
    if as_json:
        emit_json({"file": str(out_file), "invoices": count, "truncated": cut})
    else:
        out.print(f"已写入 / written: {out_file} ({count} 张 invoices)", highlight=False)
    if cut:
        err.print(f"仅打印前 {count} 张 / only the first {count} printed: narrow the filter")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
