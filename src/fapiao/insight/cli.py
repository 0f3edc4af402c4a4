"""查验, statistics, classification, cross-tenant matching."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fapiao.cli.base import (
    app,
    emit_json,
    err,
    ledger,
    out,
)
from fapiao.cli.verify_words import VERIFY_MARK, _authority_url
from fapiao.ledger import queries
from fapiao.ledger.listing import Listing
from fapiao.ledger.store import Ledger
from fapiao.vocabulary import normal_period

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


def run_verify(led: Ledger, url: str, ids: list[int]) -> list[Any]:
    from fapiao.insight.verify import verify_at

    return verify_at(led, url, ids)


@app.command("verify")
def verify_cmd(
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="发票编号（默认按筛选条件）/ invoice ids (default: by filters)"),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    period: Annotated[
        str | None, typer.Option(help="期间 / period YYYY-MM or YYYY", callback=normal_period)
    ] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="日期 / date YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="日期 / date YYYY-MM-DD")] = None,
    counterparty: Annotated[
        str | None, typer.Option(help="对方税号或部分名称 / tax ID or part of the name")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="票种 / kind: digital_special, digital_normal, …")
    ] = None,
    direction: Annotated[
        str, typer.Option(help="方向：received 进项（默认）/ issued 销项 / direction")
    ] = "received",
    unverified: Annotated[
        bool,
        typer.Option(
            "--unverified", help="只查尚无结果的发票 / only invoices without an answer yet"
        ),
    ] = False,
    limit: Annotated[
        int, typer.Option(help="最多处理张数（0 为全部）/ at most this many invoices (0: all)")
    ] = 0,
    authority: Annotated[
        str | None,
        typer.Option(
            "--authority",
            help="税务平台地址（默认 $FAPIAO_AUTHORITY）/ platform URL (default: $FAPIAO_AUTHORITY)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """发票查验（每张发票每天 5 次）。 Check invoices with the authority (5 a day per invoice)."""
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
            filters = Listing(
                tenant=tenant,
                period=period,
                date_from=dt.date.fromisoformat(date_from) if date_from else None,
                date_to=dt.date.fromisoformat(date_to) if date_to else None,
                direction=direction or None,
                counterparty=counterparty,
                kind=kind,
                desc=False,
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
        str | None,
        typer.Option(
            help="企业编号或税号（默认全部）/ tenant id or tax ID (default: every tenant)"
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="期间 / period YYYY-MM or YYYY", callback=normal_period)
    ] = None,
    top: Annotated[
        int, typer.Option(help="显示前几名对方（0 为全部）/ top counterparties shown (0: all)")
    ] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
    xlsx: Annotated[
        Path | None,
        typer.Option("--xlsx", help="统计写入 FILE.xlsx / write the statistics to FILE.xlsx"),
    ] = None,
) -> None:
    """统计分析。 Statistics per tenant and period."""
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
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """类别表。 The category table (defaults and the tenant's own)."""
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
    code: Annotated[str, typer.Argument(help="类别代码，如 meals / category code, e.g. meals")],
    zh: Annotated[str, typer.Option("--zh", help="中文名称 / Chinese name")],
    en: Annotated[str, typer.Option("--en", help="英文名称 / English name")] = "",
    short_name: Annotated[
        list[str] | None, typer.Option("--short-name", help="税收分类 short name (repeat)")
    ] = None,
    code_prefix: Annotated[
        list[str] | None,
        typer.Option(
            "--code-prefix",
            help="19 位税收分类编码前缀，可重复 / prefix of the 19-digit code (repeat)",
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
) -> None:
    """添加或修改类别。 Add or change a category in the tenant's table."""
    from fapiao.insight.categories import CategoryError, set_category
    from fapiao.insight.classify import Category

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
    out.print(f"已设置类别 category {code} set")


@classify_app.command("correct")
def classify_correct(
    invoice: Annotated[str, typer.Argument(help="发票编号 / invoice id")],
    category: Annotated[str, typer.Argument(help="类别代码 / category code")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """更正类别。 Set an invoice's category; repeated corrections teach a counterparty rule."""
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
    out.print(f"发票 invoice {invoice} → {category}")
    if done.rule:
        r = done.rule
        out.print(
            f"规则 rule learned: {r['counterparty_tax_id']} ({r['direction']}) → {r['category']}; {done.reclassified} invoices moved"
        )


@classify_app.command("rule")
def classify_rule(
    counterparty: Annotated[
        str, typer.Option("--counterparty", help="对方税号 / counterparty tax ID")
    ],
    category: Annotated[str, typer.Option("--category", help="类别代码 / category code")],
    direction: Annotated[
        str, typer.Option(help="方向：received 进项 / issued 销项 / direction")
    ] = "received",
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
) -> None:
    """设置对方→类别规则。 Set a counterparty → category rule by hand."""
    from fapiao.insight.categories import CategoryError, set_rule

    led = ledger()
    try:
        _rule, moved = set_rule(led, _one_tenant(led, tenant), direction, counterparty, category)
    except CategoryError as exc:
        err.print(f"{exc.zh} / {exc.en}")
        raise typer.Exit(1) from exc
    out.print(f"规则 rule {counterparty} → {category}: 改类 {moved} 张 invoices moved")


@classify_app.command("rules")
def classify_rules(
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """规则列表。 The counterparty → category rules."""
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
def classify_run(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """分类新发票。 Classify what changed since the last run."""
    from fapiao.insight import facts

    led = ledger()
    n = facts.refresh(led)
    if as_json:
        emit_json({"classified": n, "invoices": facts.count(led)})
    else:
        out.print(f"分类 classified {n} · 共 total {facts.count(led)}")


@app.command("match")
def match_cmd(
    tenant: Annotated[str | None, typer.Option(help="企业编号或税号 / tenant id or tax ID")] = None,
    period: Annotated[
        str | None, typer.Option(help="期间 / period YYYY-MM or YYYY", callback=normal_period)
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record/--no-record", help="把发现记到发票上 / put findings on the invoices"
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """跨企业对票。 Match issued and received records of invoices between tenants."""
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
