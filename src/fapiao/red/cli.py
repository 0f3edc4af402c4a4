"""`fapiao red request|list|show|approve|confirm|reject`: 红字确认单 from the command line."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fapiao.cli.base import app, emit_json, err, ledger, out, say_findings
from fapiao.findings import Finding
from fapiao.ledger.keys import tenant_id_of
from fapiao.red import service, state
from fapiao.vocabulary import shown

red_app = typer.Typer(no_args_is_help=True, help="红字确认单 / red-letter requests")
app.add_typer(red_app, name="red")
Json = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]
Id = Annotated[str, typer.Argument(help="确认单编号 / request id")]


def _finish(done: list[dict[str, Any]], refused: list[Finding], as_json: bool) -> None:
    if as_json:
        emit_json(done[0] if done else {"refused": [f.to_json() for f in refused]})
    elif refused:
        err.print("未做任何更改 / nothing changed:", highlight=False)
        say_findings(refused)
    else:
        _print(done[0])
    if refused:
        raise typer.Exit(1)


def _print(r: dict[str, Any]) -> None:
    out.print(
        f"#{r['id']} {r['blue_key']} {r['reason']} 价税合计 {r['total']} · "
        f"{r['state_zh']} {r['state_en']}"
        + (f" · 截止 deadline {shown(r['deadline'])}" if r["state"] == "pending" else "")
        + (f" · 红字发票 red invoice {r['red_invoice_id']}" if r["red_invoice_id"] else ""),
        highlight=False,
    )


@red_app.command("request")
def request_cmd(
    key: Annotated[str, typer.Argument(help="蓝字发票 id 或号码")],
    reason: Annotated[
        str, typer.Option(help="原因：开票有误 / 销货退回 / 服务中止 / 销售折让 / reason")
    ],
    items: Annotated[
        str | None,
        typer.Option(help='部分红冲 JSON: [{"line": 1, "amount": "50.00", "tax": "6.50"}]'),
    ] = None,
    all_lines: Annotated[bool, typer.Option("--all", help="全额红冲 / the whole invoice")] = False,
    tenant: Annotated[str | None, typer.Option(help="企业 id 或税号")] = None,
    as_json: Json = False,
) -> None:
    """申请红字确认单（全额 --all 或部分 --items）。Request a red-letter reversal."""
    if all_lines == (items is not None):
        err.print("请给出 --all 或 --items 之一 / give either --all or --items")
        raise typer.Exit(2)
    led = ledger()
    tid = None
    if tenant is not None:
        with led.engine.connect() as conn:
            tid = tenant_id_of(conn, tenant)
        if tid is None:
            err.print(f"没有此企业 / no such tenant: {tenant}")
            raise typer.Exit(2)
    done, refused = service.request(led, key=key, reason=reason, items=items, tenant_id=tid)
    _finish(done, refused, as_json)


@red_app.command("list")
def list_cmd(
    state_: Annotated[
        str | None, typer.Option("--state", help="状态 / state: pending / issued / …")
    ] = None,
    as_json: Json = False,
) -> None:
    """红字确认单列表（过期的先标为已过期）。Red-letter requests."""
    led = ledger()
    service.expire_due(led)
    with led.engine.connect() as conn:
        rows = state.listing(conn, state=state_)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        _print(r)


@red_app.command("show")
def show_cmd(rid: Id, as_json: Json = False) -> None:
    """红字确认单详情。One request with its lines."""
    led = ledger()
    service.expire_due(led, only=rid)
    with led.engine.connect() as conn:
        rows = [r for r in state.listing(conn) if r["id"] == rid]
    if not rows:
        err.print(f"没有红字确认单 / no request {rid}")
        raise typer.Exit(1)
    if as_json:
        emit_json(rows[0])
        return
    _print(rows[0])
    for it in rows[0]["items"]:
        out.print(
            f"  {it['line']}. {it['name']} {it['quantity']} 金额 {it['amount']} 税额 {it['tax']}"
        )


@red_app.command("approve")
def approve_cmd(rid: Id, as_json: Json = False) -> None:
    """批准（四眼原则，须申请人以外的人）。Approve a request (four eyes)."""
    done, refused = service.approve(ledger(), rid=rid)
    _finish(done, refused, as_json)


@red_app.command("confirm")
def confirm_cmd(rid: Id, as_json: Json = False) -> None:
    """对方已确认：开具红字发票（经发票同步队列）。The counterparty confirmed: issue the red invoice."""
    done, refused = service.confirm(ledger(), rid=rid)
    _finish(done, refused, as_json)


@red_app.command("reject")
def reject_cmd(rid: Id, as_json: Json = False) -> None:
    """对方已拒绝。The counterparty rejected the request."""
    done, refused = service.reject(ledger(), rid=rid)
    _finish(done, refused, as_json)


@red_app.command("sync")
def sync_cmd(
    authority: Annotated[str, typer.Option("--authority", help="平台地址 / platform URL")],
    as_json: Json = False,
) -> None:
    """与平台交换确认单：发送待确认的，取回对方的确认或拒绝。Exchange requests with the platform."""
    import httpx

    from fapiao.red.platform import exchange

    with httpx.Client(base_url=authority.rstrip("/"), timeout=30) as http:

        def post(path: str, body: dict[str, Any]) -> tuple[int, Any]:
            resp = http.post(path, json=body)
            return resp.status_code, resp.json()

        def get(path: str, params: dict[str, str]) -> Any:
            resp = http.get(path, params=params)
            resp.raise_for_status()
            return resp.json()

        try:
            report = exchange(ledger(), post=post, get=get)
        except httpx.HTTPError as exc:
            err.print(f"平台不可用 / the platform did not answer: {exc}", highlight=False)
            raise typer.Exit(1) from exc
    if as_json:
        emit_json(report)
    else:
        for what, items in report.items():
            out.print(f"{what}: {len(items)}")
    if report["refused"]:
        raise typer.Exit(1)
