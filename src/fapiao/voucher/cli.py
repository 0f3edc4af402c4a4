"""`fapiao voucher map set|list`, `fapiao voucher export`: vouchers for 用友 / 金蝶 import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fapiao.cli.base import app, emit_json, err, ledger, out, say_findings
from fapiao.ledger.keys import tenant_id_of, valid_period
from fapiao.ledger.store import Ledger
from fapiao.money import format_fen
from fapiao.vocabulary import normal_period
from fapiao.voucher import entries, templates

voucher_app = typer.Typer(no_args_is_help=True, help="记账凭证导出 / accounting vouchers")
map_app = typer.Typer(no_args_is_help=True, help="科目对照 / accounts of categories")
app.add_typer(voucher_app, name="voucher")
voucher_app.add_typer(map_app, name="map")
Tenant = Annotated[str, typer.Option("--tenant", help="企业 id 或税号")]


def _tenant(led: Ledger, tenant: str) -> int:
    with led.engine.connect() as conn:
        tid = tenant_id_of(conn, tenant)
    if tid is None:
        err.print(f"没有此企业 / no such tenant: {tenant}")
        raise typer.Exit(2)
    return tid


@map_app.command("set")
def map_set(
    category: Annotated[str, typer.Argument(help="类别代码，或 _default / _tax / _party")],
    tenant: Tenant,
    code: Annotated[str, typer.Option("--account", help="科目编码 / account code")],
    name: Annotated[str, typer.Option("--name", help="科目名称 / account name")] = "",
    direction: Annotated[
        str, typer.Option(help="方向：received 进项 / issued 销项 / direction")
    ] = "received",
) -> None:
    """设置类别对应的科目。Map a category to an account."""
    led = ledger()
    problems = entries.set_account(
        led,
        tenant_id=_tenant(led, tenant),
        direction=direction,
        category=category,
        code=code,
        name=name,
    )
    if problems:
        say_findings(problems)
        raise typer.Exit(1)


@map_app.command("list")
def map_list(
    tenant: Tenant,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")] = False,
) -> None:
    """科目对照（含默认）。The mapping, defaults included."""
    led = ledger()
    with led.engine.connect() as conn:
        m = entries.mapping(conn, _tenant(led, tenant))
    rows = [
        {"direction": d, "category": c, "account": code, "name": name}
        for (d, c), (code, name) in sorted(m.items())
    ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        out.print(f"{r['direction']:9} {r['category']:14} {r['account']:10} {r['name']}")


@voucher_app.command("export")
def export_cmd(
    tenant: Tenant,
    period: Annotated[
        str, typer.Option("--period", help="期间 / period YYYY-MM", callback=normal_period)
    ],
    fmt: Annotated[str, typer.Option("--format", help="格式：yonyou 用友 / kingdee 金蝶 / format")],
    out_file: Annotated[Path, typer.Option("--out", help="输出文件 / output FILE.xlsx")],
) -> None:
    """本月进项、销项发票生成记账凭证（xlsx，按导入模板的列）。Export the month's vouchers."""
    if fmt not in templates.FORMATS or not valid_period(period):
        err.print(
            "需要 --format yonyou|kingdee 和 --period YYYY-MM / needs --format yonyou|kingdee, --period YYYY-MM"
        )
        raise typer.Exit(2)
    led = ledger()
    vs = entries.vouchers(led, tenant_id=_tenant(led, tenant), period=period)
    maker = led.actor.removeprefix("cli:")
    out_file.write_bytes(templates.workbook(fmt, vs, maker))
    debit = sum(line.debit for v in vs for line in v.lines)
    out.print(f"{len(vs)} 张凭证 vouchers · 借方合计 debit {format_fen(debit)} → {out_file}")
