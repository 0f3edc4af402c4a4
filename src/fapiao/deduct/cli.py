"""`fapiao deduct select|unselect|confirm|status`: 勾选 of received invoices for a 税款所属期."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fapiao.cli.base import app, emit_json, err, ledger, out, say_findings
from fapiao.deduct import service
from fapiao.deduct.status import REVERSAL, status_of
from fapiao.findings import Finding
from fapiao.ledger.keys import tenant_id_of, valid_period
from fapiao.ledger.store import Ledger
from fapiao.vocabulary import normal_period, shown

deduct_app = typer.Typer(
    no_args_is_help=True, help="勾选抵扣 / select received invoices for deduction"
)
app.add_typer(deduct_app, name="deduct")

Tenant = Annotated[str, typer.Option("--tenant", help="企业 id 或税号 / tenant id or tax ID")]
Period = Annotated[
    str, typer.Option("--period", help="税款所属期 / period YYYY-MM", callback=normal_period)
]
Json = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]


def _scope(led: Ledger, tenant: str, period: str | None) -> int:
    """The tenant id; a wrong tenant or period is a usage error (exit 2)."""
    if period is not None and not valid_period(period):
        err.print(f"所属期格式应为 YYYY-MM / period must be YYYY-MM: {period!r}", highlight=False)
        raise typer.Exit(2)
    with led.engine.connect() as conn:
        tid = tenant_id_of(conn, tenant)
    if tid is None:
        err.print(f"没有此企业 / no such tenant: {tenant}", highlight=False)
        raise typer.Exit(2)
    return tid


def _finish(done: list[dict[str, Any]], refused: list[Finding], as_json: bool, verb: str) -> None:
    if as_json:
        emit_json({verb: done, "refused": [f.to_json() for f in refused]})
    elif refused:
        err.print("未做任何更改 / nothing changed:", highlight=False)
        say_findings(refused)
    else:
        for d in done:
            out.print(f"{verb} {d.get('key', '')} {d.get('period', '')} {d.get('purpose', '')}")
    if refused:
        raise typer.Exit(1)


@deduct_app.command("select")
def select_cmd(
    keys: Annotated[
        list[str], typer.Argument(help="台账 id、发票号码或代码-号码 / id, number or code-number")
    ],
    tenant: Tenant,
    period: Period,
    purpose: Annotated[
        str, typer.Option(help="用途：deduct 抵扣 / no_deduct 不抵扣 / purpose")
    ] = "deduct",
    reason: Annotated[str, typer.Option(help="不抵扣原因 / why not deducted")] = "",
    as_json: Json = False,
) -> None:
    """勾选：选择用于抵扣（或不抵扣）的进项发票。Select invoices for a period."""
    led = ledger()
    tid = _scope(led, tenant, period)
    done, refused = service.select_invoices(
        led, tenant_id=tid, period=period, keys=keys, purpose=purpose, reason=reason
    )
    _finish(done, refused, as_json, "selected")


@deduct_app.command("unselect")
def unselect_cmd(
    keys: Annotated[
        list[str], typer.Argument(help="台账 id、发票号码或代码-号码 / id, number or code-number")
    ],
    tenant: Tenant,
    period: Annotated[
        str | None,
        typer.Option(
            "--period", help="期间（可选）/ period YYYY-MM (optional)", callback=normal_period
        ),
    ] = None,
    as_json: Json = False,
) -> None:
    """撤销勾选（所属期未确认时）。Undo selections of an unconfirmed period."""
    led = ledger()
    tid = _scope(led, tenant, period)
    done, refused = service.unselect_invoices(led, tenant_id=tid, keys=keys, period=period)
    _finish(done, refused, as_json, "unselected")


@deduct_app.command("confirm")
def confirm_cmd(tenant: Tenant, period: Period, as_json: Json = False) -> None:
    """统计确认：锁定所属期的勾选。Confirm (lock) the period's selections."""
    led = ledger()
    tid = _scope(led, tenant, period)
    done, refused = service.confirm_period(led, tenant_id=tid, period=period)
    if as_json:
        emit_json(done[0] if done else {"refused": [f.to_json() for f in refused]})
    elif refused:
        err.print("未确认 / not confirmed:", highlight=False)
        say_findings(refused)
    else:
        _print_status(done[0])
    if refused:
        raise typer.Exit(1)


@deduct_app.command("status")
def status_cmd(tenant: Tenant, period: Period, as_json: Json = False) -> None:
    """所属期勾选统计：按用途和税率的份数、金额、税额。The period's totals."""
    led = ledger()
    tid = _scope(led, tenant, period)
    with led.engine.connect() as conn:
        status = status_of(conn, tenant_id=tid, period=period)
    if as_json:
        emit_json(status)
    else:
        _print_status(status)


def _print_status(s: dict[str, Any]) -> None:
    state = (
        f"已确认 confirmed {shown(s['confirmed_at'])} {s['confirmed_by']}"
        if s["confirmed"]
        else "未确认 not confirmed"
    )
    out.print(f"所属期 period {s['period']} · {state}", highlight=False)
    for purpose, (zh, en) in service.PURPOSES.items():
        p = s["purposes"][purpose]
        out.print(
            f"  {zh} {en}: {p['count']} 份, 金额 {p['amount']}, 税额 {p['tax']}", highlight=False
        )
    for r in s["by_rate"]:
        out.print(
            f"    {r['purpose']} {r['tax_rate']}: {r['count']} 份, 金额 {r['amount']}, 税额 {r['tax']}",
            highlight=False,
        )
    for inv in s.get("invoices", []):
        if inv["reversal"]:  # counted net of its red invoices
            zh, en = REVERSAL[inv["reversal"]]
            key = f"{inv['code']}-{inv['number']}" if inv["code"] else inv["number"]
            out.print(
                f"  {key} {zh} {en}: 金额 {inv['amount']}, 税额 {inv['tax']}", highlight=False
            )


@deduct_app.command("compare")
def compare_cmd(
    tenant: Tenant,
    period: Period,
    authority: Annotated[str, typer.Option("--authority", help="平台地址 / platform URL")],
    as_json: Json = False,
) -> None:
    """与平台勾选状态比对。Compare the period's 勾选 with the platform's (exit 1 when they differ)."""
    import httpx

    from fapiao.deduct.compare import compare

    led = ledger()
    tid = _scope(led, tenant, period)
    tax_id = next(t["tax_id"] for t in led.tenant_rows() if t["id"] == tid)
    try:
        resp = httpx.get(
            authority.rstrip("/") + "/api/v1/deduct",
            params={"tax_id": tax_id, "period": period},
            timeout=30,
        )
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        err.print(f"平台不可用 / the platform did not answer: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    with led.engine.connect() as conn:
        ours = status_of(conn, tenant_id=tid, period=period)
    result = compare(ours, resp.json())
    if as_json:
        emit_json(result)
    else:
        out.print(
            f"所属期 {period}: 账上 {result['ledger_count']} · 平台 {result['authority_count']} · "
            f"{'一致 agree' if result['agree'] else '不一致 differ'}",
            highlight=False,
        )
        for k in result["only_in_ledger"]:
            out.print(f"  仅账上已勾选 only in the ledger: {k}", highlight=False)
        for k in result["only_at_authority"]:
            out.print(f"  仅平台已勾选 only at the platform: {k}", highlight=False)
        for d in result["purpose_differs"]:
            out.print(f"  用途不同 purpose differs: {d['key']} {d['ledger']} ≠ {d['authority']}")
    if not result["agree"]:
        raise typer.Exit(1)
