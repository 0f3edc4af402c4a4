"""The month's 勾选 page: the candidates of a tenant and period with their totals as they are ticked
(static/deduct.js), the selection saved as one request, the 统计确认 step; and on an invoice's page
its 勾选 state."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.deduct import service
from fapiao.deduct.status import REVERSAL, candidates, status_of
from fapiao.findings import Finding
from fapiao.ledger.keys import valid_period
from fapiao.ledger.queries import period_bounds
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False, prefix="/deduct")
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _tenants(request: Request, caller: Caller) -> list[dict[str, Any]]:
    rows = ledger_for(request).tenant_rows()
    return [t for t in rows if caller.user.sees(t["id"])]


def _tenant(request: Request, caller: Caller, raw: str | None) -> int:
    visible = _tenants(request, caller)
    if not raw and visible:
        return int(visible[0]["id"])
    for t in visible:
        if str(t["id"]) == str(raw):
            return int(t["id"])
    raise not_found()


def _period(raw: str | None) -> str:
    if not raw:
        return dt.datetime.now(SHANGHAI).strftime("%Y-%m")
    if not valid_period(raw):
        raise Problem(400, "bad_filter", f"所属期无效：{raw}", f"bad period: {raw}")
    return raw


def _back(request: Request, tenant: int, period: str, problems: list[Finding], ok: str) -> Response:
    query = {"tenant": tenant, "period": period}
    if problems:
        en = lang_of(request) == "en"
        query["error"] = "；".join(f.message_en if en else f.message for f in problems)
    else:
        query["ok"] = ok
    return RedirectResponse(f"/deduct?{urlencode(query, quote_via=quote)}", status_code=303)


@router.get("")
def month_page(
    request: Request,
    caller: Reader,
    tenant: str = "",
    period: str = "",
    error: str = "",
    ok: str = "",
) -> Response:
    tid, month = _tenant(request, caller, tenant), _period(period)
    _, end = period_bounds(month)
    with request.app.state.engine.connect() as conn:
        status = status_of(conn, tenant_id=tid, period=month, with_invoices=False)
        rows = candidates(conn, tenant_id=tid, period=month, end=end)
    return render(
        request,
        "deduct/index.html",
        {
            "tenants": _tenants(request, caller),
            "tenant_id": tid,
            "period": month,
            "status": status,
            "rows": rows,
            "purposes": service.PURPOSES,
            "reversal": REVERSAL,
            "error": error,
            "ok": ok,
        },
    )


@router.post("/select")
def save_selection(
    request: Request,
    caller: Writer,
    tenant: Annotated[str, Form()],
    period: Annotated[str, Form()],
    pick: Annotated[list[str] | None, Form()] = None,
    shown: Annotated[list[str] | None, Form()] = None,
    purpose: Annotated[str, Form()] = "deduct",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Ticked and not yet selected: selected; shown, selected here and no longer ticked: undone."""
    tid, month = _tenant(request, caller, tenant), _period(period)
    _, end = period_bounds(month)
    with request.app.state.engine.connect() as conn:
        held = {
            str(r["id"])
            for r in candidates(conn, tenant_id=tid, period=month, end=end, limit=100_000)
            if r["selected"]
        }
    ticked, on_page = set(pick or ()), set(shown or ()) | set(pick or ())
    led = ledger_for(request, caller.user)
    problems: list[Finding] = []
    drop = sorted((held & on_page) - ticked)
    if drop:
        _, problems = service.unselect_invoices(led, tenant_id=tid, keys=drop)
    add = sorted(ticked - held)
    if add and not problems:
        _, problems = service.select_invoices(
            led, tenant_id=tid, period=month, keys=add, purpose=purpose, reason=reason
        )
    return _back(request, tid, month, problems, f"+{len(add)} −{len(drop)}")


@router.post("/confirm")
def confirm(
    request: Request,
    caller: Writer,
    tenant: Annotated[str, Form()],
    period: Annotated[str, Form()],
) -> Response:
    tid, month = _tenant(request, caller, tenant), _period(period)
    _, problems = service.confirm_period(
        ledger_for(request, caller.user), tenant_id=tid, period=month
    )
    return _back(request, tid, month, problems, "confirmed")


def invoice_panel(request: Request, inv: dict[str, Any]) -> dict[str, Any] | None:
    """The invoice page's 勾选 block (received invoices only)."""
    if inv.get("direction") != "received":
        return None
    with request.app.state.engine.connect() as conn:
        return {"selection": service.selection_of(conn, int(inv["id"]))}


def install(app: FastAPI) -> None:
    """Adds the invoice page's block (templates see `invoice_panels`)."""
    panels = app.state.templates.env.globals.setdefault("invoice_panels", [])
    panels.append(("deduct/invoice_panel.html", invoice_panel))
