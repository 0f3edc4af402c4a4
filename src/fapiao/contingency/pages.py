"""Contingency pages: incidents (timeline, affected invoices, 情况说明 PDF), pause and resume,
manual paper invoices and their links, 补开 requests with materials, orders against invoices.

Each route names the permission it needs; a tenant the caller may not see is not found. Writes go
through the same domain functions as the CLI, with the web user as the events' actor.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from fapiao.contingency import incidents, manual, orders, pause, reissue
from fapiao.contingency.common import ContingencyError, local_text, parse_moment, tenant_rows
from fapiao.contingency.statement import statement_pdf
from fapiao.money import MoneyError, format_fen, parse_yuan
from fapiao.web import jobs, nav, uploads
from fapiao.web.security import Caller, ledger_for, ledger_wide_only, not_found, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False, prefix="/contingency")
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
MAX_UPLOAD = 20 * 1024 * 1024


def _tenants(request: Request, caller: Caller) -> list[dict[str, Any]]:
    return [t for t in tenant_rows(request.app.state.engine) if caller.user.sees(t["id"])]


def _tenant(request: Request, caller: Caller, raw: str | int | None) -> int:
    visible = _tenants(request, caller)
    if raw in (None, "") and len(visible) == 1:
        return int(visible[0]["id"])
    for t in visible:
        if str(t["id"]) == str(raw):
            return int(t["id"])
    raise not_found()


def _back(
    path: str, request: Request, exc: ContingencyError | None = None, msg: str = ""
) -> Response:
    if exc is not None:
        msg = exc.en if lang_of(request) == "en" else exc.zh
        return RedirectResponse(f"{path}?error={quote(msg)}", status_code=303)
    return RedirectResponse(path + (f"?ok={quote(msg)}" if msg else ""), status_code=303)


def _visible_incident(request: Request, caller: Caller, incident_id: int) -> dict[str, Any]:
    try:
        inc = incidents.get_incident(request.app.state.engine, incident_id)
    except ContingencyError:
        raise not_found() from None
    if inc["tenant_id"] is not None and not caller.user.sees(inc["tenant_id"]):
        raise not_found()
    return inc


def _changeable_incident(request: Request, caller: Caller, incident_id: int) -> dict[str, Any]:
    """An incident the caller may note or close: one of their tenants', or, for a ledger-wide
    incident (no tenant), only a user of every tenant (403 otherwise; reading stays open)."""
    inc = _visible_incident(request, caller, incident_id)
    if inc["tenant_id"] is None and not caller.user.ledger_wide:
        raise ledger_wide_only()
    return inc


def _scope(caller: Caller) -> frozenset[int] | None:
    return caller.user.tenants


def _read(file: UploadFile, cap: int = MAX_UPLOAD) -> bytes:
    """The upload's bytes, or 413 above `cap` (checked on the spooled size before reading)."""
    uploads.check(file, cap)
    file.file.seek(0)
    return file.file.read()


# --- overview: pauses and incidents -----------------------------------------------------------------


@router.get("")
def overview(request: Request, caller: Reader, error: str = "", ok: str = "") -> Response:
    engine = request.app.state.engine
    held = pause.paused(engine)
    tenants = [{**t, "pause": held.get(t["id"])} for t in _tenants(request, caller)]
    return render(
        request,
        "contingency/index.html",
        {
            "tenants": tenants,
            "incidents": incidents.list_incidents(engine, tenant_ids=_scope(caller)),
            "due": reissue.list_requests(engine, due_only=True, tenant_ids=_scope(caller)),
            "local_text": local_text,
            "error": error,
            "ok": ok,
        },
    )


@router.post("/pause")
def pause_tenant(
    request: Request,
    caller: Writer,
    tenant: Annotated[str, Form()],
    reason: Annotated[str, Form(max_length=2000)],
) -> Response:
    try:
        pause.pause(ledger_for(request, caller.user), _tenant(request, caller, tenant), reason)
    except ContingencyError as exc:
        return _back("/contingency", request, exc)
    return _back("/contingency", request, msg="paused")


@router.post("/resume")
def resume_tenant(
    request: Request,
    caller: Writer,
    tenant: Annotated[str, Form()],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        pause.resume(ledger_for(request, caller.user), _tenant(request, caller, tenant), note)
    except ContingencyError as exc:
        return _back("/contingency", request, exc)
    return _back("/contingency", request, msg="resumed")


@router.post("/incidents")
def incident_open(
    request: Request,
    caller: Writer,
    title: Annotated[str, Form(max_length=200)],
    tenant: Annotated[str, Form()] = "",
    start: Annotated[str, Form(max_length=40)] = "",
    directions: Annotated[list[str] | None, Form()] = None,
    counterparties: Annotated[str, Form(max_length=2000)] = "",
    departments: Annotated[str, Form(max_length=2000)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    try:
        tid = (
            _tenant(request, caller, tenant) if tenant or caller.user.tenants is not None else None
        )
        scope = incidents.Scope(
            directions=[d for d in directions or [] if d in ("issued", "received")],
            counterparties=[c.strip() for c in counterparties.split(",") if c.strip()],
            departments=[d.strip() for d in departments.split(",") if d.strip()],
        )
        iid = incidents.open_incident(
            ledger_for(request, caller.user), tenant_id=tid, title=title,
            started_at=parse_moment(start) if start else None, scope=scope, note=note,
        )  # fmt: skip
    except ContingencyError as exc:
        return _back("/contingency", request, exc)
    return RedirectResponse(f"/contingency/incidents/{iid}", status_code=303)


@router.get("/incidents/{incident_id}")
def incident_page(
    request: Request, incident_id: int, caller: Reader, tenant: str = "", error: str = ""
) -> Response:
    inc = _visible_incident(request, caller, incident_id)
    tid = _tenant(request, caller, tenant) if tenant else None
    rows = incidents.affected(request.app.state.engine, inc, tenant_id=tid)
    if caller.user.tenants is not None:
        rows = [r for r in rows if r["tenant_id"] is None or caller.user.sees(r["tenant_id"])]
    return render(
        request,
        "contingency/incident.html",
        {
            "inc": inc,
            "rows": rows,
            "tenants": _tenants(request, caller),
            "tenant": tid,
            "format_fen": format_fen,
            "local_text": local_text,
            "error": error,
        },
    )


@router.post("/incidents/{incident_id}/note")
def incident_note(
    request: Request, incident_id: int, caller: Writer, text: Annotated[str, Form(max_length=4000)]
) -> Response:
    _changeable_incident(request, caller, incident_id)
    path = f"/contingency/incidents/{incident_id}"
    try:
        incidents.add_note(ledger_for(request, caller.user), incident_id, text)
    except ContingencyError as exc:
        return _back(path, request, exc)
    return _back(path, request)


@router.post("/incidents/{incident_id}/close")
def incident_close(
    request: Request,
    incident_id: int,
    caller: Writer,
    at: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    _changeable_incident(request, caller, incident_id)
    path = f"/contingency/incidents/{incident_id}"
    try:
        incidents.close_incident(
            ledger_for(request, caller.user),
            incident_id,
            ended_at=parse_moment(at) if at else None,
            note=note,
        )
    except ContingencyError as exc:
        return _back(path, request, exc)
    return _back(path, request)


@router.get("/incidents/{incident_id}/statement.pdf")
def incident_statement(
    request: Request, incident_id: int, caller: Reader, tenant: str = ""
) -> Response:
    inc = _visible_incident(request, caller, incident_id)
    tid = _tenant(request, caller, tenant) if tenant or inc["tenant_id"] is None else None
    try:
        pdf = statement_pdf(request.app.state.engine, incident_id, tenant_id=tid)
    except ContingencyError as exc:
        return _back(f"/contingency/incidents/{incident_id}", request, exc)
    name = quote(f"情况说明-{incident_id}.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )


# --- manual invoices and links ---------------------------------------------------------------------


@router.get("/manual")
def manual_page(request: Request, caller: Reader, error: str = "", ok: str = "") -> Response:
    engine = request.app.state.engine
    if caller.user.can("write"):
        manual.propose(ledger_for(request, caller.user))
    return render(
        request,
        "contingency/manual.html",
        {
            "tenants": _tenants(request, caller),
            "papers": manual.list_manual(engine, tenant_ids=_scope(caller)),
            "links": manual.list_links(engine, tenant_ids=_scope(caller)),
            "format_fen": format_fen,
            "error": error,
            "ok": ok,
            "results": [],
        },
    )


MANUAL_FIELDS = ("kind", "code", "number", "issue_date", "seller_name", "seller_tax_id", "buyer_name",
                 "buyer_tax_id", "amount", "tax", "total", "remarks", "issuer", "department",
                 "item_name", "item_quantity", "item_unit", "item_unit_price", "item_amount",
                 "item_tax_rate", "item_tax")  # fmt: skip


def _manual_result(request: Request, caller: Caller, outcomes: list[manual.Recorded]) -> Response:
    engine = request.app.state.engine
    bad = any(not o.id for o in outcomes)
    return render(
        request,
        "contingency/manual.html",
        {
            "tenants": _tenants(request, caller),
            "papers": manual.list_manual(engine, tenant_ids=_scope(caller)),
            "links": manual.list_links(engine, tenant_ids=_scope(caller)),
            "format_fen": format_fen,
            "error": "",
            "ok": "",
            "results": outcomes,
        },
        status=422 if bad else 200,
    )


@router.post("/manual")
async def manual_add(request: Request, caller: Writer) -> Response:
    form = await request.form()
    fields = {k: str(form.get(k, ""))[:400] for k in MANUAL_FIELDS}
    tid = _tenant(request, caller, str(form.get("tenant", "")))
    entry = manual.from_form(fields)
    outcomes = manual.record(ledger_for(request, caller.user), tid, [entry])
    return _manual_result(request, caller, outcomes)


@router.post("/manual/csv")
async def manual_csv(
    request: Request, caller: Writer, file: UploadFile, tenant: Annotated[str, Form()] = ""
) -> Response:
    tid = _tenant(request, caller, tenant)
    name = (file.filename or "manual.csv")[-200:]
    led = ledger_for(request, caller.user)
    uploads.check(file, MAX_UPLOAD)

    def job() -> Any:
        data = _read(file)
        return manual.record(led, tid, manual.from_csv(name, data), original=(name, data))

    return _manual_result(request, caller, await jobs.run(job))


@router.post("/links/{link_id}/{decision}")
def link_decide(request: Request, link_id: int, decision: str, caller: Writer) -> Response:
    if decision not in ("confirm", "reject"):
        raise not_found()
    try:
        manual.decide(
            ledger_for(request, caller.user),
            link_id,
            confirm=decision == "confirm",
            tenant_ids=_scope(caller),
        )
    except ContingencyError as exc:
        return _back("/contingency/manual", request, exc)
    return _back("/contingency/manual", request, msg=decision)


# --- 补开 requests ------------------------------------------------------------------------------------


@router.get("/reissue")
def reissue_page(request: Request, caller: Reader, error: str = "") -> Response:
    engine = request.app.state.engine
    if caller.user.can("write"):
        reissue.settle(ledger_for(request, caller.user))
    return render(
        request,
        "contingency/reissue.html",
        {
            "requests": reissue.list_requests(engine, tenant_ids=_scope(caller)),
            "tenants": _tenants(request, caller),
            "error": error,
        },
    )


@router.post("/reissue")
def reissue_create(
    request: Request,
    caller: Writer,
    tenant: Annotated[str, Form()] = "",
    incident: Annotated[str, Form()] = "",
    invoice: Annotated[str, Form(max_length=48)] = "",
    direction: Annotated[str, Form()] = "received",
    counterparty_tax_id: Annotated[str, Form(max_length=32)] = "",
    counterparty_name: Annotated[str, Form(max_length=200)] = "",
    total: Annotated[str, Form(max_length=30)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    led = ledger_for(request, caller.user)
    try:
        day = dt.date.fromisoformat(deadline) if deadline else None
        kw: dict[str, Any] = {"reason": reason, "deadline": day}
        if incident:
            inc = _visible_incident(request, caller, int(incident))
            tid = _tenant(request, caller, tenant) if tenant or inc["tenant_id"] is None else None
            rid = reissue.from_incident(led, int(incident), invoice, tenant_id=tid, **kw)
        else:
            rid = reissue.create(
                led, tenant_id=_tenant(request, caller, tenant), original_key=invoice.strip(),
                direction=direction, counterparty_tax_id=counterparty_tax_id,
                counterparty_name=counterparty_name, total=parse_yuan(total or "0"), **kw,
            )  # fmt: skip
    except ContingencyError as exc:
        return _back("/contingency/reissue", request, exc)
    except (ValueError, MoneyError):
        return _back(
            "/contingency/reissue",
            request,
            ContingencyError("输入无效", "invalid input", code="usage"),
        )
    return RedirectResponse(f"/contingency/reissue/{rid}", status_code=303)


def _visible_request(request: Request, caller: Caller, request_id: int) -> dict[str, Any]:
    try:
        req = reissue.get_request(request.app.state.engine, request_id)
    except ContingencyError:
        raise not_found() from None
    if not caller.user.sees(req["tenant_id"]):
        raise not_found()
    return req


@router.get("/reissue/{request_id}")
def reissue_detail(request: Request, request_id: int, caller: Reader, error: str = "") -> Response:
    req = _visible_request(request, caller, request_id)
    return render(
        request,
        "contingency/reissue_detail.html",
        {"req": req, "materials": reissue.MATERIALS, "required": reissue.REQUIRED, "error": error},
    )


@router.post("/reissue/{request_id}/attach")
async def reissue_attach(
    request: Request,
    request_id: int,
    caller: Writer,
    file: UploadFile,
    material: Annotated[str, Form()] = "other",
) -> Response:
    _visible_request(request, caller, request_id)
    path = f"/contingency/reissue/{request_id}"
    led, name = ledger_for(request, caller.user), (file.filename or "file")[-200:]
    uploads.check(file, MAX_UPLOAD)
    try:
        await jobs.run(lambda: reissue.attach(led, request_id, material, name, _read(file)))
    except ContingencyError as exc:
        return _back(path, request, exc)
    return _back(path, request)


@router.get("/reissue/{request_id}/attachments/{attachment_id}")
def reissue_attachment(
    request: Request, request_id: int, attachment_id: int, caller: Reader
) -> Response:
    _visible_request(request, caller, request_id)
    found = reissue.attachment_bytes(request.app.state.engine, request_id, attachment_id)
    if found is None:
        raise not_found()
    name, data = found
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.post("/reissue/{request_id}/{step}")
def reissue_step(
    request: Request,
    request_id: int,
    step: str,
    caller: Writer,
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    moves = {"submit": reissue.submit, "approve": reissue.approve, "reject": reissue.reject}
    if step not in moves:
        raise not_found()
    _visible_request(request, caller, request_id)
    path = f"/contingency/reissue/{request_id}"
    try:
        moves[step](ledger_for(request, caller.user), request_id, note, tenant_ids=_scope(caller))
    except ContingencyError as exc:
        return _back(path, request, exc)
    return _back(path, request)


# --- orders ------------------------------------------------------------------------------------


@router.get("/orders")
async def orders_page(
    request: Request, caller: Reader, tenant: str = "", error: str = ""
) -> Response:
    engine = request.app.state.engine

    def job() -> dict[str, Any]:  # matching is orders × invoices: never on the event loop
        visible = _tenants(request, caller)
        tid = _tenant(request, caller, tenant) if tenant or len(visible) == 1 else None
        return {
            "tenants": visible,
            "tenant": tid,
            "fields": orders.FIELDS,
            "mapping": orders.saved_mapping(engine, tid) if tid else {},
            "report": orders.match(engine, tid) if tid else None,
            "result": None,
            "error": error,
        }

    return render(request, "contingency/orders.html", await jobs.run(job))


@router.post("/orders")
async def orders_upload(request: Request, caller: Writer) -> Response:
    form = await request.form()
    tid = _tenant(request, caller, str(form.get("tenant", "")))
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _back(
            f"/contingency/orders?tenant={tid}",
            request,
            ContingencyError("请选择文件", "choose a file", code="usage"),
        )
    uploads.check(upload, orders.MAX_BYTES)
    overrides = {f: str(form.get(f"map_{f}", "")).strip()[:100] for f in orders.FIELDS}
    direction = str(form.get("direction", "issued"))
    led, engine = ledger_for(request, caller.user), request.app.state.engine

    def job() -> tuple[dict[str, Any], dict[str, Any]]:
        result = orders.import_orders(
            led, tid, (upload.filename or "orders")[-200:], _read(upload, orders.MAX_BYTES),
            overrides=overrides, default_direction=direction if direction in ("issued", "received") else "issued",
        )  # fmt: skip
        return result, orders.match(engine, tid)

    result, report = await jobs.run(job)
    return render(
        request,
        "contingency/orders.html",
        {
            "tenants": _tenants(request, caller),
            "tenant": tid,
            "fields": orders.FIELDS,
            "mapping": orders.saved_mapping(engine, tid),
            "report": report,
            "result": result,
            "error": "",
        },
        status=422 if result["rejected"] else 200,
    )


def _panel(engine: Any, user: Any) -> list[tuple[str, str, Any]]:
    open_ = incidents.list_incidents(engine, state="open", tenant_ids=user.tenants)
    due = reissue.list_requests(engine, due_only=True, tenant_ids=user.tenants)
    held = [t for t in pause.paused(engine) if user.sees(t)]
    return [
        ("未结束的故障事件", "Open incidents", len(open_)),
        ("暂停开票的企业", "Paused companies", len(held)),
        ("临近截止的补开申请", "补开 requests due", len(due)),
    ]


def install(app: FastAPI) -> None:
    """The dashboard's contingency panel (the route and the nav entry are declared)."""
    nav.add_panel(nav.Panel("contingency", "应急", "Contingency", _panel, order=60))
