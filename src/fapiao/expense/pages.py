"""On an invoice's page: its 入账 and 报销 state, with the forms to book, claim, undo and release."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.expense import service, states
from fapiao.findings import Finding
from fapiao.web.app import lang_of
from fapiao.web.search import visible_invoice
from fapiao.web.security import Caller, ledger_for, not_found, requires

router = APIRouter(include_in_schema=False, prefix="/expense")
Writer = Annotated[Caller, Depends(requires("write"))]


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


def register(app: FastAPI) -> None:
    panels = app.state.templates.env.globals.setdefault("invoice_panels", [])
    panels.append(("expense/invoice_panel.html", invoice_panel))
