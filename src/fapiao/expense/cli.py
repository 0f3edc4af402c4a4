"""`fapiao book KEY… [--voucher NO]`, `fapiao book undo KEY…`; `fapiao expense claim|release|list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import select

from fapiao.cli.base import app, emit_json, err, ledger, out, say_findings
from fapiao.expense import service
from fapiao.expense.tables import claims
from fapiao.findings import Finding
from fapiao.ledger.keys import tenant_id_of
from fapiao.ledger.store import Ledger

expense_app = typer.Typer(no_args_is_help=True, help="报销 / reimbursement claims")
app.add_typer(expense_app, name="expense")

Keys = Annotated[
    list[str], typer.Argument(help="台账 id、发票号码或代码-号码 / id, number or code-number")
]
Tenant = Annotated[
    str | None, typer.Option("--tenant", help="企业 id 或税号（同一张票在多个企业账上时）")
]
Json = Annotated[bool, typer.Option("--json", help="输出 JSON / JSON output")]


def _tenant(led: Ledger, tenant: str | None) -> int | None:
    if tenant is None:
        return None
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
            extra = d.get("voucher") or d.get("claim") or ""
            out.print(f"{verb} {d['key']} {extra}", highlight=False)
    if refused:
        raise typer.Exit(1)


@app.command("book")
def book_cmd(
    keys: Annotated[
        list[str],
        typer.Argument(help="发票 KEY…，或 undo KEY… 撤销入账 / invoice keys, or undo KEY…"),
    ],
    voucher: Annotated[str, typer.Option("--voucher", help="凭证号 / voucher number")] = "",
    tenant: Tenant = None,
    as_json: Json = False,
) -> None:
    """入账（或 `book undo KEY…` 撤销入账）。Mark received invoices booked, or undo it."""
    led = ledger()
    tid = _tenant(led, tenant)
    if keys[0] == "undo":
        if len(keys) == 1:
            err.print("book undo 需要发票 / book undo needs KEY…")
            raise typer.Exit(2)
        done, refused = service.unbook(led, keys=keys[1:], tenant_id=tid)
        _finish(done, refused, as_json, "unbooked")
        return
    done, refused = service.book(led, keys=keys, voucher=voucher, tenant_id=tid)
    _finish(done, refused, as_json, "booked")


@expense_app.command("claim")
def claim_cmd(
    keys: Keys,
    claim_no: Annotated[str, typer.Option("--claim", help="报销单号 / claim number")],
    person: Annotated[str, typer.Option("--person", help="报销人 / claimant")] = "",
    tenant: Tenant = None,
    as_json: Json = False,
) -> None:
    """报销：发票归入报销单（同一张发票只能报销一次）。Claim invoices, each only once."""
    led = ledger()
    done, refused = service.claim(
        led, keys=keys, claim_no=claim_no, person=person, tenant_id=_tenant(led, tenant)
    )
    _finish(done, refused, as_json, "claimed")


@expense_app.command("release")
def release_cmd(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="发票 KEY…（或用 --claim 撤销整张报销单）/ invoice keys (or --claim to release a whole claim)"
        ),
    ] = None,
    claim_no: Annotated[str, typer.Option("--claim", help="报销单号 / claim number")] = "",
    tenant: Tenant = None,
    as_json: Json = False,
) -> None:
    """撤销报销（发票可再次报销）。Release claimed invoices."""
    led = ledger()
    done, refused = service.release(
        led, keys=keys or [], claim_no=claim_no, tenant_id=_tenant(led, tenant)
    )
    _finish(done, refused, as_json, "released")


@expense_app.command("list")
def list_cmd(
    claim_no: Annotated[str, typer.Option("--claim", help="报销单号 / claim number")] = "",
    all_lines: Annotated[bool, typer.Option("--all", help="含已撤销 / released ones too")] = False,
    as_json: Json = False,
) -> None:
    """报销记录。Claim lines (standing ones unless --all)."""
    led = ledger()
    q = select(claims).order_by(claims.c.id)
    if claim_no:
        q = q.where(claims.c.claim_no == claim_no)
    if not all_lines:
        q = q.where(claims.c.active_key.is_not(None))
    with led.engine.connect() as conn:
        rows = [
            {k: v for k, v in r._mapping.items() if k != "active_key"}
            | {"invoice_id": str(r.invoice_id)}
            for r in conn.execute(q)
        ]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = f"released {r['released_at'][:19]}" if r["released_at"] else "claimed"
        out.print(
            f"{r['claim_no']}  {r['identity_key']}  {r['person'] or '—'}  {r['claimed_at'][:19]}  {state}",
            highlight=False,
        )
