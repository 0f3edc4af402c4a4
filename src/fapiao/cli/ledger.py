"""Ledger commands: tenants, parse, import, list, show, audit (demo and samples: `fapiao_dev.cli`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fapiao.cli.base import (
    app,
    audit_app,
    emit_json,
    err,
    ledger,
    out,
    plain,
    say_findings,
    tenant_app,
)
from fapiao.cli.cards import invoice_card, invoice_list, print_details
from fapiao.cli.verify_words import VERIFY_MARK, _authority_url
from fapiao.codec import invoice_to_json
from fapiao.findings import has_errors
from fapiao.ledger import audit, listing, listing_states, queries
from fapiao.ledger.flat_rows import COLUMNS, flat
from fapiao.ledger.imports import Outcome
from fapiao.ledger.listing import Listing, period_bounds
from fapiao.ledger.store import Ledger
from fapiao.vocabulary import (
    AUTHORITY_STATES,
    DIRECTIONS,
    KINDS,
    STATUSES,
    VERIFICATIONS,
    normal_period,
)

# --- tenants ------------------------------------------------------------------------------------


@tenant_app.command("add")
def tenant_add(
    tax_id: Annotated[str, typer.Option("--tax-id", help="纳税人识别号 / tax ID")],
    name: Annotated[str, typer.Option("--name", help="企业名称 / company name")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """添加企业。 Add a company whose books this ledger keeps."""
    tenant_id, findings = ledger().add_tenant(tax_id=tax_id, name=name)
    if as_json:
        emit_json({"id": tenant_id, "findings": [f.to_json() for f in findings]})
    elif findings:
        say_findings(findings)
    else:
        out.print(f"企业 tenant {tenant_id}: {tax_id} {plain(name)}")
    raise typer.Exit(1 if findings else 0)


@tenant_app.command("policy")
def tenant_policy(
    tenant: Annotated[str, typer.Argument(help="企业编号或税号 / tenant id or tax ID")],
    four_eyes: Annotated[
        bool,
        typer.Option(
            "--four-eyes/--no-four-eyes",
            help="四眼原则：申请人不能批准自己的申请 / four eyes: no one approves their own request",
        ),
    ],
) -> None:
    """企业审批规则。 A company's rules for its people (four eyes for approvals)."""
    from fapiao.ledger.policies import set_four_eyes

    led = ledger()
    rows = {str(r["id"]): r for r in led.tenant_rows()} | {
        r["tax_id"]: r for r in led.tenant_rows()
    }
    row = rows.get(tenant.strip().upper())
    if row is None:
        err.print(f"找不到企业 / no such tenant: {tenant}")
        raise typer.Exit(2)
    set_four_eyes(led, int(row["id"]), four_eyes)
    word = "开启 on" if four_eyes else "关闭 off"
    out.print(f"{row['name']}: 四眼原则 four eyes {word}", highlight=False)


@tenant_app.command("list")
def tenant_list(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """企业列表。 List the companies."""
    rows = ledger().tenant_rows()
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "纳税人识别号 tax ID", "名称 name")
    for r in rows:
        table.add_row(str(r["id"]), r["tax_id"], plain(r["name"]))
    out.print(table)


# --- parse and import ---------------------------------------------------------------------------


@app.command("parse")
def parse_cmd(
    files: Annotated[list[Path], typer.Argument(help="要读取的文件 / files to read")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """解析并校验，不入账。 Parse and validate; store nothing."""
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
            doc["fields"] = item.fields
            doc["findings"] = [f.to_json() for f in item.findings]
            failed = failed or item.invoice is None or has_errors(item.findings)
            results.append(doc)
            if not as_json:
                mark = (
                    "[red]✗[/]" if has_errors(item.findings) or not item.invoice else "[green]✓[/]"
                )
                label = f"{doc.get('code', '')} {doc.get('number', '')} {doc.get('total', '')}"
                out.print(f"{mark} {plain(item.file)}  {label}", highlight=False)
                say_findings(item.findings, indent="    ")
    if as_json:
        emit_json(results)
    raise typer.Exit(1 if failed else 0)


@app.command("import")
def import_cmd(
    paths: Annotated[list[Path], typer.Argument(help="文件和文件夹 / files and folders")],
    as_json: Annotated[
        bool, typer.Option("--json", help="结束时输出一个 JSON 对象 / one JSON object at the end")
    ] = False,
    ndjson: Annotated[
        bool,
        typer.Option(
            "--ndjson",
            help="每批提交后每条结果一行 JSON / one JSON line per outcome as each batch commits",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="不显示进度条 / no progress bar")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            min=1,
            help="每批提交条数（默认 2000）/ inputs per transaction (default 2000)",
        ),
    ] = None,
    verify: Annotated[
        bool | None,
        typer.Option(
            "--verify/--no-verify",
            help="查验 received invoices at once (default: $FAPIAO_VERIFY_ON_IMPORT)",
        ),
    ] = None,
) -> None:
    """导入发票。 Import invoices: duplicates and rejects reported, rejects quarantined."""
    from fapiao.ingest import BATCH_SIZE, count_files, import_paths

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
            batch_size=batch_size or BATCH_SIZE,  # what bench/ingest.py measures
            keep=not ndjson,
        )
    from fapiao.ingest import after_import
    from fapiao.insight import settings as insight_settings

    if verify or (verify is None and insight_settings.flag(insight_settings.VERIFY_ON_IMPORT)):
        _authority_url(None)  # 查验 asked for without an authority: say so (exit 2)
    checked = after_import(led, summary.imported, led.actor, verify=verify)
    if as_json:
        extra = {"verified": [o.to_json() for o in checked]} if checked else {}
        emit_json(summary.to_json() | extra)
    elif not ndjson:
        c = summary.counts
        out.print(
            f"导入 imported {c.get('imported', 0)} · 重复 duplicates {c.get('duplicate', 0)} · "
            f"冲突 conflicts {c.get('conflict', 0)} · 拒收 rejected {c.get('rejected', 0)}"
            + (f" · 补全 completed {c['completed']}" if c.get("completed") else "")
        )
        for o in summary.rejected:
            out.print(f"[red]✗[/] {plain(o.file)}", highlight=False)
            say_findings(o.findings, indent="    ")
        for o in summary.conflicts:
            out.print(
                f"[yellow]≠[/] {plain(o.file)}: {o.number} {', '.join(o.fields)}", highlight=False
            )
        for o in checked:
            mark = VERIFY_MARK.get(o.result, o.result)
            out.print(f"查验 {mark} {o.key} {', '.join(o.fields)}", highlight=False)
    raise typer.Exit(1 if summary.counts.get("rejected") else 0)


# --- list and show ------------------------------------------------------------------------------


@app.command("list")
def list_cmd(
    period: Annotated[
        str | None, typer.Option(help="期间 / period YYYY-MM or YYYY", callback=normal_period)
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="日期 / date YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="日期 / date YYYY-MM-DD")] = None,
    direction: Annotated[
        str | None, typer.Option(help="方向：issued 销项 / received 进项 / direction")
    ] = None,
    counterparty: Annotated[
        str | None, typer.Option(help="对方税号或部分名称 / tax ID or part of the name")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="票种 / kind: digital_special, digital_normal, …")
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="发票状态 / status: normal / red / void")
    ] = None,
    authority_state: Annotated[
        str | None,
        typer.Option(
            "--authority-state",
            help="平台上传状态 / authority state: local/queued/uploaded/confirmed/missing/mismatch",
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="输出 CSV / CSV output")] = False,
    header_lang: Annotated[
        str,
        typer.Option(
            "--headers",
            help="表头：zh 中文（平台列名）或 en 字段名（供脚本读取）/ CSV headers: zh or en (field names, for scripts)",
        ),
    ] = "zh",
    category: Annotated[
        str | None, typer.Option(help="收支类别代码 / expense or revenue category code")
    ] = None,
    verification: Annotated[
        str | None, typer.Option(help="查验: match / mismatch / not_found / unverified")
    ] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(
            help="入账/报销/勾选/红冲状态（可重复，可用逗号）/ state (repeatable): booked, unbooked, "
            "claimed, unclaimed, selected, unselected, red_partial, red_full"
        ),
    ] = None,
) -> None:
    """发票列表。 List invoices."""
    codes = listing_states.codes()
    wanted = listing.many({"state": ",".join(state or ())}, "state")
    for one in wanted:
        _known_values(state=(one, {c: (v.zh, v.en) for c, (_, v) in codes.items()}))
    _known_values(
        headers=(header_lang, {"zh": ("中文", "Chinese"), "en": ("英文字段名", "field names")}),
        direction=(direction, DIRECTIONS),
        status=(status, STATUSES),
        kind=(kind, KINDS),
        authority_state=(authority_state, AUTHORITY_STATES),
        verification=(verification, VERIFICATIONS),
    )
    try:
        filters = Listing(
            tenant=tenant,
            period=period,
            date_from=dt.date.fromisoformat(date_from) if date_from else None,
            date_to=dt.date.fromisoformat(date_to) if date_to else None,
            direction=direction,
            counterparty=counterparty,
            kind=kind,
            status=status,
            authority_state=authority_state,
            desc=False,
            states=wanted,
            include=("all",),  # every row carries its 入账, 报销, 勾选 and 红冲 state
        )
        if period:
            period_bounds(period)
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
        _write_csv(rows, header_lang)
    else:
        # the states filtered on show as columns (入账状态 已入账 记-0012)
        names = {codes[c][0].name for c in wanted}
        out.print(
            invoice_list(rows, out.width, [s for s in listing_states.states() if s.name in names])
        )


def _known_values(**given: tuple[str | None, dict[str, tuple[str, str]]]) -> None:
    """A filter value the ledger never holds is a typing mistake, not an empty result: exit 2."""
    for option, (value, known) in given.items():
        if value is not None and value not in known:
            words = ", ".join(f"{code}（{zh}）" for code, (zh, _) in known.items())
            err.print(
                f"--{option.replace('_', '-')} 的值无效 / unknown value {value!r}; 可用 one of: {words}",
                highlight=False,
            )
            raise typer.Exit(2)


def _stream_json_array(rows: Any) -> None:
    write = sys.stdout.write
    write("[")
    for n, row in enumerate(rows):
        write(("," if n else "") + "\n  " + json.dumps(row, ensure_ascii=False))
    write("\n]\n")


CSV_COLUMNS = [*COLUMNS, "category", "verification"]


def _write_csv(rows: Any, lang: str = "zh") -> None:
    """Chinese headers and words by default (a person opens it in a spreadsheet); `--headers en`
    keeps the field names and codes that scripts read. The capabilities' states follow."""
    from fapiao import sheets, vocabulary

    extra = listing_states.export_columns()
    header = vocabulary.headers(CSV_COLUMNS, lang) + [c[2 if lang == "en" else 1] for c in extra]
    cells = (
        vocabulary.export_cells(CSV_COLUMNS, flat(row, CSV_COLUMNS), lang)
        + listing_states.export_cells(row, lang)
        for row in rows
    )
    sheets.write_csv(sys.stdout, header, cells)


@app.command("show")
def show_cmd(
    ref: Annotated[
        str,
        typer.Argument(help="台账 id、发票号码或发票代码-发票号码 / id, number, or code-number"),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """发票详情。 Show one invoice with its findings, original file and history."""
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
    from fapiao.insight.categories import table_for

    named = (
        {c.code: c.zh for c in table_for(engine, int(found["tenant_id"]))}
        if found.get("tenant_id")
        else {}
    )
    found["category"] = named.get(found.get("category", ""), found.get("category", ""))
    out.print(invoice_card(found))
    print_details(out, found)


# --- audit --------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    checkpoints: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            help="审计链须仍满足的签名检查点 / a signed checkpoint the chain must still hold",
        ),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key", help="固定的账簿公钥（base64）/ the ledger's public key (base64) to pin"
        ),
    ] = None,
    quick: Annotated[
        bool,
        typer.Option("--quick", help="不重算原始文件哈希 / skip re-hashing the original files"),
    ] = False,
) -> None:
    """校验审计链。 Walk the hash chain and check the current state against it."""
    from fapiao.ledger import checkpoint

    engine = ledger().engine
    report = audit.verify(engine, blobs=not quick)
    for path in checkpoints or []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err.print(f"无法读取检查点 / cannot read the checkpoint {path}: {exc}")
            raise typer.Exit(2) from exc
        named = checkpoint.Named(doc if isinstance(doc, dict) else {}, str(path))
        report.problems.extend(checkpoint.check(engine, named, pinned_key=key))
    if as_json:
        emit_json(report.to_json())
    elif report.ok:
        out.print(
            f"[green]✓[/] 审计链完整 / audit chain intact: {report.events} events, {report.invoices} invoices"
            + (f", {report.blobs} original files re-hashed" if report.blobs is not None else "")
        )
        for path in checkpoints or []:
            out.print(f"[green]✓[/] 检查点仍成立 / checkpoint holds: {path}", highlight=False)
        if report.uncovered:
            out.print(
                f"  {report.uncovered} 张早期发票的明细未记入事件 / invoices recorded before "
                "line items were hashed into their events (their line items are not checked)"
            )
    else:
        out.print(f"[red]✗[/] 审计链损坏 / audit chain broken ({report.events} events read)")
        say_findings(report.problems)
    raise typer.Exit(0 if report.ok else 1)
