"""On an invoice's page: its 入账 and 报销 state, with the forms to book, claim, undo and release."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.expense import service, states
from fapiao.findings import Finding
from fapiao.ledger import queries
from fapiao.ledger.keys import valid_period
from fapiao.ledger.listing import Listing
from fapiao.web.search import visible_invoice
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False, prefix="/expense")
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
SHOWN = 500  # rows on the page; the command line's `list --state` has no limit


@router.get("")
def state_list(
    request: Request, caller: Reader, tenant: str = "", period: str = "", state: str = ""
) -> Response:
    """Received invoices of a company and month with their 入账 and 报销 state, filtered by it."""
    visible = [t for t in ledger_for(request).tenant_rows() if caller.user.sees(t["id"])]
    chosen = next((t for t in visible if str(t["id"]) == tenant), visible[0] if visible else None)
    if chosen is None or (tenant and str(chosen["id"]) != tenant):
        raise not_found()
    if (period and not valid_period(period)) or (state and state not in states.STATES):
        raise Problem(400, "bad_filter", "期间或状态无效", "bad period or state")
    filters = Listing(
        tenant=str(chosen["id"]),
        period=period or None,
        direction="received",
        desc=False,
        states=(state,) if state else (),
        include=("booking", "claim"),
    )
    # the state filter runs in the listing's SQL (Capability.states), so the page reads its rows only
    rows = list(islice(queries.stream(request.app.state.engine, filters), SHOWN))
    return render(
        request,
        "expense/index.html",
        {
            "tenants": visible,
            "tenant_id": chosen["id"],
            "period": period,
            "state": state,
            "states": states.STATES,
            "rows": rows,
            "shown": SHOWN,
        },
    )


def _visible(request: Request, caller: Caller, invoice_id: int) -> Any:
    row = visible_invoice(request.app.state.engine, invoice_id, caller.user.tenants)
    if row is None:
        raise not_found()
    return row


def _back(request: Request, invoice_id: int, problems: list[Finding]) -> Response:
    target = f"/invoices/{invoice_id}"
    if problems:
        en = lang_of(request) == "en"
        text = "；".join(f.message_en if en else f.message for f in problems)
        target += f"?expense_error={quote(text)}"
    return RedirectResponse(target + "#expense-state", status_code=303)


def _act(request: Request, caller: Caller, invoice_id: int, fn: Any, **kw: Any) -> Response:
    row = _visible(request, caller, invoice_id)
    _, problems = fn(
        ledger_for(request, caller.user), keys=[str(invoice_id)], tenant_id=row.tenant_id, **kw
    )
    return _back(request, invoice_id, problems)


@router.post("/invoices/{invoice_id}/book")
def book(
    request: Request,
    invoice_id: int,
    caller: Writer,
    voucher: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    return _act(request, caller, invoice_id, service.book, voucher=voucher)


@router.post("/invoices/{invoice_id}/unbook")
def unbook(request: Request, invoice_id: int, caller: Writer) -> Response:
    return _act(request, caller, invoice_id, service.unbook)


@router.post("/invoices/{invoice_id}/claim")
def claim(
    request: Request,
    invoice_id: int,
    caller: Writer,
    claim_no: Annotated[str, Form(max_length=60)],
    person: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _act(request, caller, invoice_id, service.claim, claim_no=claim_no, person=person)


@router.post("/invoices/{invoice_id}/release")
def release(request: Request, invoice_id: int, caller: Writer) -> Response:
    return _act(request, caller, invoice_id, service.release)


def invoice_panel(request: Request, inv: dict[str, Any]) -> dict[str, Any] | None:
    if inv.get("direction") != "received":
        return None
    invoice_id = int(inv["id"])
    with request.app.state.engine.connect() as conn:
        state = states.of(conn, [invoice_id])[invoice_id]
        lines = states.history(conn, invoice_id)
    return {**state, "lines": lines, "error": request.query_params.get("expense_error", "")}


def install(app: FastAPI) -> None:
    panels = app.state.templates.env.globals.setdefault("invoice_panels", [])
    panels.append(("expense/invoice_panel.html", invoice_panel))
