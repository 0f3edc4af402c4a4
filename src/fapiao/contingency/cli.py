"""Contingency commands: `incident`, `pause`, `resume`, `manual`, `reissue`, `orders`.

Registered on the main Typer app when imported (declared by `fapiao.contingency.plugin`); the same conventions as `fapiao.cli`:
bilingual help, `--json`, exit 0 done, 1 rejected or refused in this state, 2 usage error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fapiao.cli import base
from fapiao.contingency.common import ContingencyError, local_text, parse_moment, resolve_tenant
from fapiao.money import format_fen

incident_app = typer.Typer(no_args_is_help=True, help="故障事件 / incidents")
manual_app = typer.Typer(no_args_is_help=True, help="手工（纸质）发票 / manual paper invoices")
reissue_app = typer.Typer(no_args_is_help=True, help="补开申请 / re-issue requests")
orders_app = typer.Typer(no_args_is_help=True, help="订单与合同 / orders and contracts")

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]
TenantOpt = Annotated[
    str | None, typer.Option("--tenant", help="企业 ID 或税号 tenant id or tax ID")
]


@contextmanager
def refused() -> Iterator[None]:
    """A refused request: its reason in both languages, exit 2 (usage) or 1 (state)."""
    try:
        yield
    except ContingencyError as exc:
        base.err.print(f"[red]✗[/] {exc.zh} / {exc.en}", highlight=False)
        raise typer.Exit(exc.exit_code) from exc


def _tenant_id(ref: str | None) -> int:
    led = base.ledger()
    return int(resolve_tenant(led.engine, ref)["id"])


# --- incidents -----------------------------------------------------------------------------------


@incident_app.command("open")
def incident_open(
    title: Annotated[str, typer.Option("--title", help="标题 what happened")],
    tenant: TenantOpt = None,
    start: Annotated[
        str | None, typer.Option("--start", help="开始时间 start (default: now)")
    ] = None,
    direction: Annotated[
        list[str] | None,
        typer.Option("--direction", help="方向：issued 销项 / received 进项 / direction"),
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="票种 kind")] = None,
    counterparty: Annotated[
        list[str] | None,
        typer.Option("--counterparty", help="对方税号或名称 / counterparty tax ID or name"),
    ] = None,
    department: Annotated[
        list[str] | None, typer.Option("--department", help="部门 / department")
    ] = None,
    note: Annotated[str, typer.Option("--note", help="说明 / note")] = "",
    as_json: JsonOpt = False,
) -> None:
    """登记故障事件。 Open an incident by hand."""
    from fapiao.contingency.incidents import Scope, open_incident

    with refused():
        led = base.ledger()
        tid = int(resolve_tenant(led.engine, tenant)["id"]) if tenant else None
        scope = Scope(direction or [], kind or [], counterparty or [], department or [])
        iid = open_incident(
            led, tenant_id=tid, title=title, started_at=parse_moment(start) if start else None,
            scope=scope, note=note,
        )  # fmt: skip
    if as_json:
        base.emit_json({"id": iid})
    else:
        base.out.print(f"已登记事件 incident opened: {iid}")


@incident_app.command("close")
def incident_close(
    incident_id: Annotated[int, typer.Argument(help="事件 ID")],
    at: Annotated[str | None, typer.Option("--at", help="结束时间 end (default: now)")] = None,
    note: Annotated[str, typer.Option("--note", help="说明 / note")] = "",
) -> None:
    """关闭事件。 Close an incident with its end time."""
    from fapiao.contingency.incidents import close_incident

    with refused():
        close_incident(
            base.ledger(), incident_id, ended_at=parse_moment(at) if at else None, note=note
        )
    base.out.print(f"已关闭 closed: {incident_id}")


@incident_app.command("note")
def incident_note(
    incident_id: Annotated[int, typer.Argument(help="事件 ID")],
    text: Annotated[str, typer.Argument(help="备注 note")],
) -> None:
    """添加处理记录。 Add a note to an incident's timeline."""
    from fapiao.contingency.incidents import add_note

    with refused():
        add_note(base.ledger(), incident_id, text)
    base.out.print(f"已记录 noted: {incident_id}")


@incident_app.command("list")
def incident_list(
    state: Annotated[str | None, typer.Option("--state", help="状态 / state: open/closed")] = None,
    as_json: JsonOpt = False,
) -> None:
    """事件列表。 List incidents, newest first."""
    from fapiao.contingency.incidents import list_incidents

    rows = list_incidents(base.ledger().engine, state=state)
    if as_json:
        base.emit_json(rows)
        return
    table = Table("ID", "状态 state", "来源 cause", "开始 start", "结束 end", "标题 title")
    for r in rows:
        table.add_row(
            str(r["id"]), r["state"], r["cause"], local_text(r["started_at"]),
            local_text(r["ended_at"]) or "—", r["title"],
        )  # fmt: skip
    base.out.print(table)


@incident_app.command("show")
def incident_show(
    incident_id: Annotated[int, typer.Argument(help="事件 ID")],
    tenant: TenantOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """事件详情与受影响发票。 An incident with its timeline and affected invoices."""
    from fapiao.contingency.incidents import affected, get_incident

    with refused():
        led = base.ledger()
        inc = get_incident(led.engine, incident_id)
        tid = int(resolve_tenant(led.engine, tenant)["id"]) if tenant else None
        inc["affected"] = affected(led.engine, inc, tenant_id=tid)
    if as_json:
        base.emit_json(inc)
        return
    end = local_text(inc["ended_at"]) or "—"
    base.out.print(
        f"[bold]{inc['title']}[/] #{inc['id']} {inc['state']} · {local_text(inc['started_at'])} → {end}"
    )
    for n in inc["notes"]:
        base.out.print(f"  {local_text(n['at'])} [{n['kind']}] {n['text']}", highlight=False)
    table = Table(
        "发票 invoice",
        "日期 date",
        "方向",
        "对方 counterparty",
        "价税合计",
        "情况 why",
        "对应 linked",
    )
    for r in inc["affected"]:
        table.add_row(
            r["identity_key"], r["issue_date"], r["direction"], r["counterparty_name"],
            format_fen(r["total"]), r["reason"], r["linked"],
        )  # fmt: skip
    base.out.print(table)


@incident_app.command("statement")
def incident_statement(
    incident_id: Annotated[int, typer.Argument(help="事件 ID")],
    out_path: Annotated[Path, typer.Option("--out", help="输出 PDF 文件 / PDF file")],
    tenant: TenantOpt = None,
) -> None:
    """生成情况说明。 Write the 情况说明 (incident statement) PDF."""
    from fapiao.contingency.statement import statement_pdf
    from fapiao.pdffont import FontMissing

    with refused():
        led = base.ledger()
        tid = int(resolve_tenant(led.engine, tenant)["id"]) if tenant else None
        try:
            pdf = statement_pdf(led.engine, incident_id, tenant_id=tid)
        except FontMissing as exc:
            base.say_findings([exc.finding])
            raise typer.Exit(1) from exc
    out_path.write_bytes(pdf)
    base.out.print(f"已生成 written: {out_path}")


# --- pause / resume ---------------------------------------------------------------------------------


def pause_cmd(
    reason: Annotated[str, typer.Option("--reason", help="原因 why")],
    tenant: TenantOpt = None,
) -> None:
    """暂停开票。 Pause invoice operations of a company: the outbox holds, issuing is refused."""
    from fapiao.contingency.pause import pause

    with refused():
        pause(base.ledger(), _tenant_id(tenant), reason)
    base.out.print(f"已暂停 paused: {reason}")


def resume_cmd(
    tenant: TenantOpt = None,
    note: Annotated[str, typer.Option("--note", help="说明 / note")] = "",
) -> None:
    """恢复开票。 Resume invoice operations of a company."""
    from fapiao.contingency.pause import resume

    with refused():
        resume(base.ledger(), _tenant_id(tenant), note)
    base.out.print("已恢复 resumed")


# --- manual invoices ------------------------------------------------------------------------------


def _recorded_out(outcomes: list[Any], as_json: bool) -> None:
    stored = [o for o in outcomes if o.id]
    rejected = [o for o in outcomes if not o.id]
    if as_json:
        base.emit_json(
            {"recorded": [o.to_json() for o in stored], "rejected": [o.to_json() for o in rejected]}
        )
    else:
        base.out.print(f"已录入 recorded {len(stored)} · 拒收 rejected {len(rejected)}")
        for o in stored:
            where = f" → 事件 incident {o.incident_id}" if o.incident_id else ""
            base.out.print(f"[green]✓[/] {o.code}-{o.number} (id {o.id}){where}", highlight=False)
            base.say_findings(o.findings, indent="    ")
        for o in rejected:
            base.out.print(f"[red]✗[/] {base.plain(o.source)} {o.number}", highlight=False)
            base.say_findings(o.findings, indent="    ")
    raise typer.Exit(1 if rejected else 0)


ITEM_PARTS = (
    "item_name",
    "item_quantity",
    "item_unit",
    "item_unit_price",
    "item_amount",
    "item_tax_rate",
    "item_tax",
)


@manual_app.command("add")
def manual_add(
    number: Annotated[str, typer.Option("--number", help="发票号码 / invoice number")],
    issue_date: Annotated[str, typer.Option("--date", help="开票日期 YYYY-MM-DD")],
    seller_name: Annotated[str, typer.Option("--seller-name", help="销售方名称 / seller name")],
    seller_tax_id: Annotated[
        str, typer.Option("--seller-tax-id", help="销售方税号 / seller tax ID")
    ],
    buyer_name: Annotated[str, typer.Option("--buyer-name", help="购买方名称 / buyer name")],
    amount: Annotated[str, typer.Option("--amount", help="合计金额 / amount")],
    tax: Annotated[str, typer.Option("--tax", help="合计税额 / tax")],
    total: Annotated[str, typer.Option("--total", help="价税合计 / total")],
    item: Annotated[
        list[str],
        typer.Option("--item", help="明细：名称|数量|单位|单价|金额|税率|税额 / item line"),
    ],
    code: Annotated[str, typer.Option("--code", help="发票代码 / invoice code")] = "",
    kind: Annotated[
        str, typer.Option("--kind", help="票种 (vat_special, vat_normal …)")
    ] = "vat_special",
    buyer_tax_id: Annotated[
        str, typer.Option("--buyer-tax-id", help="购买方税号 / buyer tax ID")
    ] = "",
    remarks: Annotated[str, typer.Option("--remarks", help="备注 / remarks")] = "",
    issuer: Annotated[str, typer.Option("--issuer", help="开票人 / issuer")] = "",
    department: Annotated[str, typer.Option("--department", help="部门 / department")] = "",
    tenant: TenantOpt = None,
    incident: Annotated[
        int | None, typer.Option("--incident", help="事件 ID (default: the open one)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """录入纸质发票。 Enter a paper invoice by hand; validated like any other."""
    from fapiao.contingency.manual import from_form, record

    lines = [
        dict(zip(ITEM_PARTS, (p.strip() for p in spec.split("|")), strict=False)) for spec in item
    ]
    form = {
        "kind": kind, "code": code, "number": number, "issue_date": issue_date,
        "seller_name": seller_name, "seller_tax_id": seller_tax_id, "buyer_name": buyer_name,
        "buyer_tax_id": buyer_tax_id, "amount": amount, "tax": tax, "total": total,
        "remarks": remarks, "issuer": issuer, "department": department, "items": lines,
    }  # fmt: skip
    with refused():
        led = base.ledger()
        outcomes = record(led, _tenant_id(tenant), [from_form(form)], incident_id=incident)
    _recorded_out(outcomes, as_json)


@manual_app.command("import")
def manual_import(
    path: Annotated[
        Path, typer.Argument(help="文件 CSV：发票代码,发票号码,开票日期,销售方名称 … / CSV file")
    ],
    tenant: TenantOpt = None,
    incident: Annotated[int | None, typer.Option("--incident", help="事件 ID")] = None,
    as_json: JsonOpt = False,
) -> None:
    """批量录入纸质发票。 Enter paper invoices from a CSV (one row per line item)."""
    from fapiao.contingency.manual import from_csv, record

    try:
        data = path.read_bytes()
    except OSError as exc:
        base.err.print(f"无法读取 / cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    with refused():
        led = base.ledger()
        outcomes = record(
            led,
            _tenant_id(tenant),
            from_csv(path.name, data),
            original=(str(path), data),
            incident_id=incident,
        )
    _recorded_out(outcomes, as_json)


@manual_app.command("links")
def manual_links(
    tenant: TenantOpt = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="含已确认和已驳回 / confirmed and rejected too")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """关联建议。 Propose links between paper invoices and e-invoices that have appeared; list them."""
    from fapiao.contingency.manual import list_links, propose

    with refused():
        led = base.ledger()
        tid = _tenant_id(tenant) if tenant else None
        propose(led, tenant_id=tid)
        rows = list_links(
            led.engine,
            state=None if show_all else "proposed",
            tenant_ids=frozenset({tid}) if tid else None,
        )
    if as_json:
        base.emit_json(rows)
        return
    table = Table(
        "ID", "纸质 paper", "电子 electronic", "价税合计", "分 score", "依据 why", "状态 state"
    )
    for r in rows:
        table.add_row(
            str(r["id"]), f"{r['manual_key']} {r['manual_date']}", f"{r['electronic_key']} {r['electronic_date']}",
            format_fen(r["total"]), str(r["score"]), ",".join(r["reasons"]), r["state"],
        )  # fmt: skip
    base.out.print(table)


@manual_app.command("confirm")
def manual_confirm(
    link_id: Annotated[int, typer.Argument(help="关联建议 ID")],
    reject: Annotated[bool, typer.Option("--reject", help="改为驳回 / reject instead")] = False,
) -> None:
    """确认关联。 Confirm (or reject) a proposed paper ↔ e-invoice link."""
    from fapiao.contingency.manual import decide

    with refused():
        decide(base.ledger(), link_id, confirm=not reject)
    base.out.print(("已拒绝 rejected" if reject else "已确认 confirmed") + f": {link_id}")


# --- 补开 requests ------------------------------------------------------------------------------------


@reissue_app.command("create")
def reissue_create(
    tenant: TenantOpt = None,
    from_finding: Annotated[int | None, typer.Option("--from-finding", help="对账事项 ID")] = None,
    from_incident: Annotated[int | None, typer.Option("--from-incident", help="事件 ID")] = None,
    invoice: Annotated[
        str,
        typer.Option("--invoice", help="发票（号码或代码-号码）/ invoice: number or code-number"),
    ] = "",
    direction: Annotated[
        str, typer.Option("--direction", help="方向：issued 销项 / received 进项 / direction")
    ] = "received",
    counterparty_tax_id: Annotated[
        str, typer.Option("--counterparty-tax-id", help="对方税号 / counterparty tax ID")
    ] = "",
    counterparty_name: Annotated[
        str, typer.Option("--counterparty-name", help="对方名称 / counterparty name")
    ] = "",
    total: Annotated[str, typer.Option("--total", help="价税合计 / total")] = "",
    reason: Annotated[str, typer.Option("--reason", help="原因 / reason")] = "",
    deadline: Annotated[str | None, typer.Option("--deadline", help="截止日期 YYYY-MM-DD")] = None,
    remind_days: Annotated[
        int, typer.Option("--remind-days", help="提前提醒天数 / remind this many days ahead")
    ] = 7,
    as_json: JsonOpt = False,
) -> None:
    """创建补开申请。 Create a 补开 request from a reconcile finding, an incident, or by hand."""
    from fapiao.codec import parse_date
    from fapiao.contingency import reissue
    from fapiao.money import MoneyError, parse_yuan

    day = parse_date(deadline) if deadline else None
    if deadline and day is None:
        base.err.print(f"日期无效 / bad date: {deadline}")
        raise typer.Exit(2)
    kw: dict[str, Any] = {"reason": reason, "deadline": day, "remind_days": remind_days}
    with refused():
        led = base.ledger()
        if from_finding is not None:
            rid = reissue.from_finding(led, from_finding, **kw)
        elif from_incident is not None:
            if not invoice:
                raise ContingencyError("需要 --invoice", "--invoice is required", code="usage")
            tid = _tenant_id(tenant) if tenant else None
            rid = reissue.from_incident(led, from_incident, invoice, tenant_id=tid, **kw)
        else:
            if not (invoice and counterparty_name and total):
                raise ContingencyError(
                    "需要 --invoice、--counterparty-name 和 --total",
                    "--invoice, --counterparty-name and --total are required", code="usage",
                )  # fmt: skip
            try:
                fen = parse_yuan(total)
            except MoneyError as exc:
                raise ContingencyError(
                    f"金额无效：{total}", f"bad amount: {total}", code="usage"
                ) from exc
            rid = reissue.create(
                led, tenant_id=_tenant_id(tenant), original_key=invoice, direction=direction,
                counterparty_tax_id=counterparty_tax_id, counterparty_name=counterparty_name,
                total=fen, **kw,
            )  # fmt: skip
    if as_json:
        base.emit_json({"id": rid})
    else:
        base.out.print(f"已创建补开申请 request created: {rid}")


@reissue_app.command("attach")
def reissue_attach(
    request_id: Annotated[int, typer.Argument(help="申请 ID")],
    path: Annotated[Path, typer.Argument(help="材料文件 file")],
    material: Annotated[
        str, typer.Option("--material", help="材料类型 / material: statement/proof/letter/other")
    ] = "other",
) -> None:
    """上传材料。 Attach a material (kept byte for byte)."""
    from fapiao.contingency.reissue import attach

    try:
        data = path.read_bytes()
    except OSError as exc:
        base.err.print(f"无法读取 / cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    with refused():
        aid = attach(base.ledger(), request_id, material, path.name, data)
    base.out.print(f"已添加材料 attached: {aid}")


def _move(step: Callable[..., None], done: str) -> Callable[..., None]:
    def command(
        request_id: Annotated[int, typer.Argument(help="申请 ID")],
        note: Annotated[str, typer.Option("--note", help="意见 note")] = "",
    ) -> None:
        with refused():
            step(base.ledger(), request_id, note)
        base.out.print(f"{done}: {request_id}")

    return command


def _register_moves() -> None:
    from fapiao.contingency import reissue

    for name, step, done, help_ in (
        (
            "submit",
            reissue.submit,
            "已提交 submitted",
            "提交申请（须附材料）。 Submit a request (materials required).",
        ),
        ("approve", reissue.approve, "已批准 approved", "批准。 Record the approval."),
        ("reject", reissue.reject, "已驳回 rejected", "驳回。 Record the rejection."),
    ):
        reissue_app.command(name, help=help_)(_move(step, done))


@reissue_app.command("list")
def reissue_list(
    state: Annotated[str | None, typer.Option("--state", help="状态 / state")] = None,
    due: Annotated[
        bool, typer.Option("--due", help="只看临近截止和已逾期 / only reminders and overdue")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """补开 requests with deadlines; reminders and overdue ones marked. 补开申请列表。"""
    from fapiao.contingency import reissue

    led = base.ledger()
    reissue.settle(led)
    rows = reissue.list_requests(led.engine, state=state, due_only=due)
    if as_json:
        base.emit_json(rows)
        return
    table = Table(
        "ID",
        "状态 state",
        "原发票 original",
        "对方 counterparty",
        "价税合计",
        "截止 deadline",
        "提醒 reminder",
    )
    for r in rows:
        flag = (
            "[red]逾期 overdue[/]"
            if r["overdue"]
            else ("[yellow]临近 due[/]" if r["reminder"] else "")
        )
        table.add_row(
            str(r["id"]), r["state"], r["original_key"], r["counterparty_name"], r["total_text"],
            f"{r['deadline']} ({r['days_left']}d)", flag,
        )  # fmt: skip
    base.out.print(table)


# --- orders --------------------------------------------------------------------------------------


@orders_app.command("import")
def orders_import(
    path: Annotated[Path, typer.Argument(help="文件（CSV 或 xlsx）/ CSV or xlsx")],
    tenant: TenantOpt = None,
    mapping: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="字段映射 字段=列名，如 order_no=订单编号 / field=column, e.g. order_no=订单编号",
        ),
    ] = None,
    direction: Annotated[
        str,
        typer.Option(
            "--direction",
            help="方向：issued 销项 / received 进项 / direction: issued (sales) or received (purchases)",
        ),
    ] = "issued",
    as_json: JsonOpt = False,
) -> None:
    """导入订单或合同。 Import orders/contracts; the column mapping is saved per company."""
    from fapiao.contingency.orders import import_orders

    overrides: dict[str, str] = {}
    for spec in mapping or []:
        key, sep, header = spec.partition("=")
        if not sep:
            base.err.print(f"--map 应为 field=列名 / --map takes field=header: {spec}")
            raise typer.Exit(2)
        overrides[key.strip()] = header.strip()
    try:
        data = path.read_bytes()
    except OSError as exc:
        base.err.print(f"无法读取 / cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    with refused():
        result = import_orders(
            base.ledger(),
            _tenant_id(tenant),
            path.name,
            data,
            overrides=overrides,
            default_direction=direction,
        )
    if as_json:
        base.emit_json(result)
    else:
        base.out.print(
            f"新增 imported {result['imported']} · 更新 updated {result['updated']} · "
            f"未变 unchanged {result['unchanged']} · 拒收 rejected {len(result['rejected'])}"
        )
        base.out.print(
            "列对应 mapping: " + ", ".join(f"{k}={v}" for k, v in result["mapping"].items()),
            highlight=False,
        )
        for r in result["rejected"]:
            base.out.print(f"[red]✗[/] 第 {r['row']} 行 row {r['row']}", highlight=False)
            base.say_findings(r["findings"], indent="    ")
    raise typer.Exit(1 if result["rejected"] else 0)


@orders_app.command("match")
def orders_match(
    tenant: TenantOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="日期 / date YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="日期 / date YYYY-MM-DD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """订单与发票核对。 Orders with no invoice, invoices with no order, amount differences."""
    from fapiao.contingency.orders import match

    try:
        lo = dt.date.fromisoformat(date_from) if date_from else None
        hi = dt.date.fromisoformat(date_to) if date_to else None
    except ValueError as exc:
        base.err.print(f"日期无效 / bad date: {exc}")
        raise typer.Exit(2) from exc
    with refused():
        result = match(base.ledger().engine, _tenant_id(tenant), date_from=lo, date_to=hi)
    if as_json:
        base.emit_json(result)
    else:
        base.out.print(
            f"订单 orders {result['orders']} · 相符 matched {len(result['matched'])} · "
            f"未开票 without invoice {len(result['orders_without_invoice'])} · "
            f"金额不符 amount differences {len(result['amount_differences'])} · "
            f"无订单发票 invoices without order {len(result['invoices_without_order'])}"
        )
        for o in result["orders_without_invoice"]:
            base.out.print(
                f"  [yellow]未开票[/] {o['order_no']} {o['counterparty_name']} {o['total']}",
                highlight=False,
            )
        for o in result["amount_differences"]:
            base.out.print(
                f"  [red]金额不符[/] {o['order_no']} {o['total']} ≠ {o['invoiced']} {o['invoices']}",
                highlight=False,
            )
        for i in result["invoices_without_order"]:
            base.out.print(
                f"  [yellow]无订单[/] {i['identity_key']} {i['counterparty_name']} {i['total']}",
                highlight=False,
            )
    problems = (
        result["orders_without_invoice"]
        or result["amount_differences"]
        or result["invoices_without_order"]
    )
    raise typer.Exit(1 if problems else 0)


def register(app: typer.Typer) -> None:
    _register_moves()
    app.add_typer(incident_app, name="incident")
    app.add_typer(manual_app, name="manual")
    app.add_typer(reissue_app, name="reissue")
    app.add_typer(orders_app, name="orders")
    app.command("pause")(pause_cmd)
    app.command("resume")(resume_cmd)


register(base.app)  # imported through `fapiao.contingency.plugin`'s declaration
