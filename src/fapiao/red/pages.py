"""红字确认单 on the web: the list of requests with their decisions, and on an invoice's page its 红冲
state (部分红冲 / 全额红冲), its requests and red invoices, and on an issued one the form to ask for
one; on a red invoice's page the blue invoice it reverses and its 确认单."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from fapiao.findings import Finding
from fapiao.ledger import schema
from fapiao.red import service, state
from fapiao.red.tables import requests
from fapiao.web.search import visible_invoice
from fapiao.web.security import Caller, ledger_for, not_found, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False, prefix="/red")
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]


def _message(request: Request, problems: list[Finding]) -> str:
    en = lang_of(request) == "en"
    return "；".join(f.message_en if en else f.message for f in problems)


def _back(request: Request, target: str, problems: list[Finding]) -> Response:
    if problems:
        sep = "&" if "?" in target else "?"
        target += f"{sep}red_error={quote(_message(request, problems))}"
    return RedirectResponse(target, status_code=303)


@router.get("")
def red_list(request: Request, caller: Reader, red_error: str = "") -> Response:
    led = ledger_for(request, caller.user)
    if caller.user.can("write"):
        service.expire_due(led)
    tenants = caller.user.tenants
    with request.app.state.engine.connect() as conn:
        rows = state.listing(conn, tenant_ids=None if tenants is None else sorted(tenants))
    return render(request, "red/index.html", {"rows": rows, "error": red_error})


def _request_of(request: Request, caller: Caller, rid: int) -> dict[str, Any]:
    with request.app.state.engine.connect() as conn:
        row = conn.execute(select(requests).where(requests.c.id == rid)).first()
    if row is None or not caller.user.sees(row.tenant_id):
        raise not_found()
    return dict(row._mapping)


@router.post("/{rid}/{action}")
def decide(request: Request, rid: int, action: str, caller: Writer) -> Response:
    _request_of(request, caller, rid)
    fn = {"approve": service.approve, "confirm": service.confirm, "reject": service.reject}.get(
        action
    )
    if fn is None:
        raise not_found()
    _, problems = fn(ledger_for(request, caller.user), rid=rid)
    return _back(request, "/red", problems)


@router.post("/invoices/{invoice_id}/request")
def ask(
    request: Request,
    invoice_id: int,
    caller: Writer,
    reason: Annotated[str, Form()],
    items: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    row = visible_invoice(request.app.state.engine, invoice_id, caller.user.tenants)
    if row is None:
        raise not_found()
    _, problems = service.request(
        ledger_for(request, caller.user),
        key=str(invoice_id),
        reason=reason,
        items=items.strip() or None,
        tenant_id=row.tenant_id,
    )
    return _back(request, f"/invoices/{invoice_id}", problems)


def invoice_panel(request: Request, inv: dict[str, Any]) -> dict[str, Any] | None:
    """Blue invoices, issued or received: their 红冲 state, red invoices and requests (the form to
    ask for one on issued ones: the seller asks); red invoices: the blue one they reverse and the
    request they were issued on."""
    if inv.get("status") not in ("normal", "red"):
        return None
    t = schema.invoices
    with request.app.state.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.id == int(inv["id"]))).first()
        if row is None:
            return None
        if row.status == "red":
            return {"red": True, **state.of_red(conn, dict(row._mapping))}
        out = state.of_blue(conn, dict(row._mapping))
    return {
        **out,
        "red": False,
        "can_request": row.direction == "issued",
        "reasons": service.REASONS,
        "error": request.query_params.get("red_error", ""),
    }


def install(app: FastAPI) -> None:
    panels = app.state.templates.env.globals.setdefault("invoice_panels", [])
    panels.append(("red/invoice_panel.html", invoice_panel))
