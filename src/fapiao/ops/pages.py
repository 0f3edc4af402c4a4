"""Operations in the web app: /healthz, /readyz, /metrics, the status page with notices, repair
tickets (报修), a request id and an access log line for every request, and a bounded wait under
load: a request that cannot get a slot or a database connection in time gets a clear 503.

Settings: `FAPIAO_WEB_MAX_INFLIGHT` (requests served at once, default 32; keep it below the
thread pool's 40), `FAPIAO_WEB_QUEUE_TIMEOUT` (seconds a request may wait for a slot, default
the pool timeout), the pool itself in `fapiao.ledger.db` (`FAPIAO_DB_POOL_SIZE`, `_OVERFLOW`,
`_TIMEOUT`), `FAPIAO_METRICS_OPEN=1` to let anyone scrape /metrics (default: loopback clients and
callers with the audit permission).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fapiao.auth import users as auth
from fapiao.ledger.db import POOL_TIMEOUT_S
from fapiao.ops import metrics, notices, tickets
from fapiao.ops.status import ready, status
from fapiao.telemetry import counters, logs
from fapiao.web.security import (
    Caller,
    Problem,
    forbidden,
    identify,
    ledger_for,
    not_found,
    requires,
)
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Admin = Annotated[Caller, Depends(requires("admin", ledger_wide=True))]  # notices: every tenant
Support = Annotated[Caller, Depends(requires("support"))]

MAX_INFLIGHT = int(os.environ.get("FAPIAO_WEB_MAX_INFLIGHT", "32"))
QUEUE_TIMEOUT_S = float(os.environ.get("FAPIAO_WEB_QUEUE_TIMEOUT", str(POOL_TIMEOUT_S)))
EXEMPT = ("/healthz", "/static/")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# --- request ids, access log, bounded waiting -----------------------------------------------------


def _overloaded(
    path: str, code: str, zh: str, en: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if path.startswith("/api/") or path in ("/readyz", "/metrics"):
        body = json.dumps(
            {"error": {"code": code, "message": zh, "message_en": en}}, ensure_ascii=False
        ).encode()
        kind = b"application/json"
    else:
        body = f"<!doctype html><meta charset=utf-8><title>503</title><h1>503</h1><p>{zh}</p><p>{en}</p>".encode()
        kind = b"text/html; charset=utf-8"
    headers = [(b"content-type", kind), (b"retry-after", b"1"), (b"cache-control", b"no-store")]
    return 503, headers, body


class RequestGuard:
    """Outermost middleware: binds a request id (kept from X-Request-ID when well-formed), admits
    at most `max_inflight` requests at once (others wait up to `queue_timeout_s`, then 503), logs
    one line per request and counts it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_inflight: int = MAX_INFLIGHT,
        queue_timeout_s: float = QUEUE_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self.queue_timeout_s = queue_timeout_s
        self._slots: asyncio.Semaphore | None = None

    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_inflight)
        return self._slots

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        sent = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = sent if _RID.match(sent) else logs.new_id()
        status = [500]
        started = time.perf_counter()

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        exempt = path.startswith(EXEMPT)
        with logs.bound(request_id=rid):
            admitted = exempt
            if not exempt:
                try:
                    async with asyncio.timeout(self.queue_timeout_s):
                        await self.slots().acquire()
                    admitted = True
                except TimeoutError:
                    counters.SHED.labels("overloaded").inc()
                    code, headers, body = _overloaded(
                        path,
                        "overloaded",
                        "服务器繁忙，请稍后重试",
                        "the server is busy: retry in a moment",
                    )
                    await tagged(
                        {"type": "http.response.start", "status": code, "headers": headers}
                    )
                    await send({"type": "http.response.body", "body": body})
            try:
                if admitted:
                    await self.app(scope, receive, tagged)
            finally:
                if admitted and not exempt:
                    self.slots().release()
                self._log(scope, status[0], started)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        seconds = time.perf_counter() - started
        method = scope.get("method", "")
        counters.HTTP_REQUESTS.labels(method, f"{status // 100}xx").inc()
        counters.HTTP_SECONDS.labels(method).observe(seconds)
        if not logs.enabled():
            return
        caller = (scope.get("state") or {}).get("caller")
        user = caller.user if caller else None
        logs.logger().info(
            "http.request",
            method=method,
            path=scope["path"],
            status=status,
            duration_ms=round(seconds * 1000, 2),
            actor=user.name if user else "",
            role=user.role if user else "",
            tenants=sorted(user.tenants)
            if user and user.tenants is not None
            else "all"
            if user
            else "",
            outcome="ok" if status < 400 else "refused" if status < 500 else "error",
        )


def _problem_503(request: Request, code: str, zh: str, en: str) -> Response:
    status, headers, body = _overloaded(request.url.path, code, zh, en)
    return Response(body, status_code=status, headers={k.decode(): v.decode() for k, v in headers})


async def on_pool_timeout(request: Request, exc: Exception) -> Response:
    counters.SHED.labels("pool_exhausted").inc()
    logs.logger().warning("db.pool_exhausted", path=request.url.path, error=str(exc)[:200])
    return _problem_503(
        request,
        "pool_exhausted",
        "数据库连接已满，请稍后重试",
        "all database connections are busy: retry in a moment",
    )


async def on_db_error(request: Request, exc: Exception) -> Response:
    if (
        isinstance(exc, DBAPIError)
        and not isinstance(exc, OperationalError)
        and not exc.connection_invalidated
    ):
        raise exc
    counters.SHED.labels("db_unavailable").inc()
    logs.logger().warning(
        "db.unavailable", path=request.url.path, error=str(exc).splitlines()[0][:200]
    )
    return _problem_503(
        request,
        "db_unavailable",
        "数据库暂时不可用或超时，请稍后重试",
        "the database is unavailable or timed out: retry in a moment",
    )


# --- health and metrics -------------------------------------------------------------------------


@router.get("/readyz")
def readyz(request: Request) -> Response:
    ok, checks = ready(request.app.state.engine)
    body = {"status": "ready" if ok else "not_ready", "checks": [c.to_json() for c in checks]}
    return JSONResponse(body, status_code=200 if ok else 503)


@router.get("/metrics")
def metrics_page(request: Request) -> Response:
    host = request.client.host if request.client else ""
    if os.environ.get("FAPIAO_METRICS_OPEN") != "1" and host not in (
        "127.0.0.1",
        "::1",
        "localhost",
    ):
        caller = identify(request)
        # the figures cover every tenant: an auditor of some tenants does not get them
        if caller is None or not caller.user.can("audit") or not caller.user.ledger_wide:
            raise forbidden()
    return Response(
        metrics.exposition(request.app.state.engine),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


# --- status page and notices --------------------------------------------------------------------


@router.get("/status")
def status_page(request: Request, caller: Reader, error: str = "") -> Response:
    data = status(request.app.state.engine)
    return render(
        request,
        "ops/status.html",
        {
            "s": data,
            "error": error,
            "is_admin": caller.user.can("admin") and caller.user.ledger_wide,
        },
    )


@router.get("/status.json")
def status_json(request: Request, caller: Reader) -> Response:
    return JSONResponse(json.loads(json.dumps(status(request.app.state.engine), default=str)))


@router.post("/status/notices")
def notice_post(
    request: Request,
    caller: Admin,
    title: Annotated[str, Form(max_length=200)],
    body: Annotated[str, Form(max_length=10000)] = "",
    issuer: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=400)] = "",
    starts_on: Annotated[str, Form(max_length=10)] = "",
    ends_on: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        notices.post_notice(
            ledger_for(request, caller.user),
            title=title,
            body=body,
            issuer=issuer,
            scope=scope,
            starts_on=starts_on,
            ends_on=ends_on,
        )
    except notices.NoticeError as exc:
        return RedirectResponse("/status?error=" + _msg(request, exc), status_code=303)
    return RedirectResponse("/status", status_code=303)


@router.post("/status/notices/{notice_id}/withdraw")
def notice_withdraw(request: Request, notice_id: int, caller: Admin) -> Response:
    try:
        notices.withdraw_notice(ledger_for(request, caller.user), notice_id)
    except notices.NoticeError as exc:
        return RedirectResponse("/status?error=" + _msg(request, exc), status_code=303)
    return RedirectResponse("/status", status_code=303)


def _msg(request: Request, exc: Any) -> str:
    from urllib.parse import quote

    return quote(exc.en if lang_of(request) == "en" else exc.zh)


# --- repair tickets -----------------------------------------------------------------------------


def _visible(caller: Caller, row: dict[str, Any]) -> bool:
    user = caller.user
    if user.can("support") and tickets.in_scope(row, user.tenants):
        return True
    return row["reporter"] == user.name


def _ticket(request: Request, caller: Caller, tid: int) -> dict[str, Any]:
    found = tickets.get(request.app.state.engine, tid)
    if found is None or not _visible(caller, found):
        raise not_found()
    return found


@router.get("/tickets")
def ticket_list(request: Request, caller: Reader, state: str = "active") -> Response:
    user = caller.user
    rows = tickets.list_tickets(
        request.app.state.engine,
        reporter=None if user.can("support") else user.name,
        state=state if state in (*tickets.STATES, "active") else None,
        tenants=user.tenants if user.can("support") else None,
    )
    return render(
        request,
        "ops/tickets.html",
        {"rows": rows, "state": state, "categories": tickets.CATEGORIES, "states": tickets.STATES},
    )


@router.get("/tickets/new")
def ticket_form(
    request: Request, caller: Reader, invoice: str = "", incident: str = "", error: str = ""
) -> Response:
    return render(
        request,
        "ops/ticket_new.html",
        {
            "categories": tickets.CATEGORIES,
            "tenants": auth.tenant_names(ledger_for(request), caller.user),
            "invoice": invoice,
            "incident": incident,
            "error": error,
        },
    )


def _ids(text: str) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text or "")][:50]


@router.post("/tickets")
async def ticket_file(
    request: Request,
    caller: Reader,
    symptoms: Annotated[str, Form(max_length=tickets.MAX_TEXT)],
    category: Annotated[str, Form(max_length=20)] = "other",
    place: Annotated[str, Form(max_length=200)] = "",
    occurred_at: Annotated[str, Form(max_length=40)] = "",
    invoices: Annotated[str, Form(max_length=2000)] = "",
    incident: Annotated[str, Form(max_length=40)] = "",
    tenant: Annotated[str, Form(max_length=20)] = "",
    files: list[UploadFile] | None = None,
) -> Response:
    attachments = []
    for f in files or []:
        if not f.filename:
            continue
        body = await f.read(tickets.MAX_FILE_BYTES + 1)
        attachments.append((f.filename, body))
    led = ledger_for(request, caller.user)
    try:
        tid = await asyncio.to_thread(
            lambda: tickets.file_ticket(
                led,
                reporter=caller.user.name,
                symptoms=symptoms,
                category=category,
                place=place,
                occurred_at=occurred_at,
                invoice_ids=_ids(invoices),
                tenant_id=int(tenant) if tenant.isdigit() and len(tenant) < 10 else None,
                incident_id=incident,
                attachments=attachments,
                visible_tenants=caller.user.tenants,
            )
        )
    except tickets.TicketError as exc:
        return RedirectResponse("/tickets/new?error=" + _msg(request, exc), status_code=303)
    return RedirectResponse(f"/tickets/{tid}", status_code=303)


@router.get("/tickets/{tid}")
def ticket_page(request: Request, tid: int, caller: Reader, error: str = "") -> Response:
    found = _ticket(request, caller, tid)
    engine = request.app.state.engine
    people = (
        tickets.support_people(engine, found["tenant_id"], scoped=True)
        if caller.user.can("support")
        else []
    )
    return render(
        request,
        "ops/ticket.html",
        {
            "tk": found,
            "error": error,
            "support": caller.user.can("support"),
            "people": people,
            "categories": tickets.CATEGORIES,
            "priorities": tickets.PRIORITIES,
        },
    )


@router.get("/tickets/{tid}/files/{fid}")
def ticket_file_get(request: Request, tid: int, fid: int, caller: Reader) -> Response:
    _ticket(request, caller, tid)
    got = tickets.attachment(request.app.state.engine, tid, fid)
    if got is None:
        raise not_found()
    from urllib.parse import quote

    name, body = got
    return Response(
        body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _do(request: Request, caller: Caller, tid: int, fn: Any, **kw: Any) -> Response:
    try:
        fn(ledger_for(request, caller.user), tid, **kw)
    except tickets.TicketError as exc:
        return RedirectResponse(f"/tickets/{tid}?error=" + _msg(request, exc), status_code=303)
    return RedirectResponse(f"/tickets/{tid}", status_code=303)


Text = Annotated[str, Form(max_length=tickets.MAX_TEXT)]


@router.post("/tickets/{tid}/triage")
def ticket_triage(
    request: Request,
    tid: int,
    caller: Support,
    priority: Annotated[str, Form(max_length=10)],
    category: Annotated[str, Form(max_length=20)] = "",
    text: Text = "",
) -> Response:
    _ticket(request, caller, tid)
    return _do(
        request,
        caller,
        tid,
        tickets.triage,
        priority=priority,
        category=category or None,
        text=text,
    )


@router.post("/tickets/{tid}/assign")
def ticket_assign(
    request: Request,
    tid: int,
    caller: Support,
    assignee: Annotated[str, Form(max_length=100)],
    text: Text = "",
) -> Response:
    found = _ticket(request, caller, tid)
    desk = tickets.support_people(request.app.state.engine, found["tenant_id"], scoped=True)
    if assignee.strip() not in desk:  # only someone who can see the ticket
        err = tickets.TicketError(
            "bad_assignee",
            f"{assignee} 不负责该企业的报修",
            f"{assignee} does not handle this company's tickets",
        )
        return RedirectResponse(f"/tickets/{tid}?error=" + _msg(request, err), status_code=303)
    return _do(request, caller, tid, tickets.assign, assignee=assignee, text=text)


@router.post("/tickets/{tid}/answer")
def ticket_answer(request: Request, tid: int, caller: Support, text: Text) -> Response:
    _ticket(request, caller, tid)
    return _do(request, caller, tid, tickets.answer, text=text)


@router.post("/tickets/{tid}/close")
def ticket_close(request: Request, tid: int, caller: Reader, text: Text = "") -> Response:
    found = _ticket(request, caller, tid)
    if not caller.user.can("support") and found["reporter"] != caller.user.name:
        raise forbidden()
    return _do(request, caller, tid, tickets.close, text=text)


@router.post("/tickets/{tid}/comment")
def ticket_comment(request: Request, tid: int, caller: Reader, text: Text) -> Response:
    _ticket(request, caller, tid)
    return _do(request, caller, tid, tickets.comment, text=text)


@router.post("/tickets/{tid}/reopen")
def ticket_reopen(request: Request, tid: int, caller: Reader, text: Text = "") -> Response:
    _ticket(request, caller, tid)
    return _do(request, caller, tid, tickets.reopen, text=text)


def install(app: FastAPI) -> None:
    """App-wide parts the router cannot carry: the operation log, request guard, DB error pages."""
    logs.configure(default_level="info")
    app.add_middleware(RequestGuard)
    app.add_exception_handler(PoolTimeout, on_pool_timeout)
    app.add_exception_handler(OperationalError, on_db_error)


__all__ = ["Problem", "RequestGuard", "install", "router"]
