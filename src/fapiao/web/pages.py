"""Server-rendered pages: login, dashboard, invoices (list, detail, original, print, export),
upload, users, audit, help. Every route names the permission it needs (`requires`)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from fapiao import printing, vocabulary
from fapiao.auth import users as auth
from fapiao.ledger import checkpoint, listing, listing_states, queries
from fapiao.ledger.listing import BadQuery, Listing
from fapiao.parse import MAX_FILE_BYTES
from fapiao.web import charts, data, jobs, nav, uploads
from fapiao.web.security import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    Problem,
    client_ip,
    ledger_for,
    not_found,
    requires,
)
from fapiao.web.templating import cookie_secure, lang_of, render, safe_next

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Exporter = Annotated[Caller, Depends(requires("export"))]
Writer = Annotated[Caller, Depends(requires("write"))]
Auditor = Annotated[Caller, Depends(requires("audit"))]
Admin = Annotated[Caller, Depends(requires("admin"))]
# user administration covers every tenant: an admin granted some tenants may not make or change
# users (they could make a ledger-wide one)
UserAdmin = Annotated[Caller, Depends(requires("admin", ledger_wide=True))]

for item in (
    nav.NavItem("/", "概览", "Dashboard", order=10),
    nav.NavItem("/invoices", "发票", "Invoices", order=20),
    nav.NavItem("/upload", "上传", "Upload", "write", order=30),
    nav.NavItem("/audit", "审计", "Audit", "audit", order=80),
    nav.NavItem("/users", "用户", "Users", "manage_users", order=90),
    nav.NavItem("/help", "帮助", "Help", order=99),
):
    nav.add_page(item)


# --- login, logout, language --------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(
        request,
        "login.html",
        {"caller": None, "next": safe_next(next), "login_csrf": token, "error": None},
    )
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(),
        path="/login",
    )
    return resp


@router.post("/login")
async def login_submit(
    request: Request,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not csrf or not secrets.compare_digest(cookie, csrf):
        raise Problem(
            403, "csrf", "表单已失效，请刷新页面后重试", "form expired (CSRF): reload and retry"
        )
    try:
        session = auth.login(
            ledger_for(request), name=name.strip(), password=password, ip=client_ip(request)
        )
    except auth.AuthError as exc:
        lang = lang_of(request)
        status = 429 if exc.code == "rate_limited" else 401  # locked or unknown: alike
        return render(
            request,
            "login.html",
            {
                "caller": None,
                "next": safe_next(next),
                "login_csrf": cookie,
                "error": exc.en if lang == "en" else exc.zh,
            },
            status=status,
        )
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=cookie_secure(),
        max_age=auth.SESSION_HOURS * 3600,
        path="/",
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return resp


@router.post("/logout")
def logout(request: Request, caller: Reader) -> Response:
    auth.logout(ledger_for(request, caller.user), caller.token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/") -> Response:
    resp = RedirectResponse(safe_next(next), status_code=303)
    resp.set_cookie(
        LANG_COOKIE, "en" if code == "en" else "zh", samesite="lax", max_age=365 * 86400
    )
    return resp


# --- dashboard ----------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, caller: Reader) -> Response:
    engine = request.app.state.engine
    user = caller.user
    lang = lang_of(request)
    this_month = data.today()
    latest = data.latest_month(engine, user) or this_month
    months = data.months_back(latest, 12)
    per_month = [data.month_summary(engine, user, m) for m in months]
    chart = charts.bars(
        [m.strftime("%y-%m") for m in months],
        [
            charts.Series(
                vocabulary.word("direction", "issued", lang),
                [p["issued"]["count"] for p in per_month],
            ),
            charts.Series(
                vocabulary.word("direction", "received", lang),
                [p["received"]["count"] for p in per_month],
            ),
        ],
        title="invoices per month" if lang == "en" else "每月发票张数",
    )
    panels = []
    for panel in nav.PANELS:
        try:
            rows = panel.load(engine, user)
        except Exception as exc:  # one broken panel must not take the dashboard down
            rows = [("错误", "error", type(exc).__name__)]
        panels.append({"panel": panel, "rows": rows})
    return render(
        request,
        "dashboard.html",
        {
            "month": this_month.strftime("%Y-%m"),
            "current": data.month_summary(engine, user, this_month),
            "latest": latest.strftime("%Y-%m"),
            "latest_summary": per_month[-1],
            "states": data.authority_states(engine, user),
            "chart": chart,
            "panels": panels,
            "lead": nav.LEAD,
            "fen": vocabulary.fen,
        },
    )


# --- invoices -----------------------------------------------------------------------------------


def _query(request: Request) -> Listing:
    try:
        return Listing.from_params(request.query_params)
    except BadQuery as exc:
        raise Problem(400, "bad_filter", f"筛选条件无效：{exc.zh}", f"bad filter: {exc}") from exc


def _with_states(q: Listing) -> Listing:
    """The query with every capability's state as columns (入账, 报销, 勾选, 红冲): what the page
    and the exports show; links keep the user's own query."""
    return replace(q, include=("all",))


@router.get("/invoices")
def invoice_list(request: Request, caller: Reader) -> Response:
    q = _query(request)
    rows, more = queries.page(request.app.state.engine, _with_states(q), caller.user.tenants)
    tenants = auth.tenant_names(ledger_for(request), caller.user)
    lang = lang_of(request)
    return render(
        request,
        "invoices.html",
        {
            "q": q,
            "rows": rows,
            "more": more,
            "tenants": tenants,
            "tenant_names": {t["id"]: t["name"] for t in tenants},
            "link": lambda **kw: "/invoices?" + urlencode(q.params(**kw)),
            "export": lambda fmt: f"/invoices/export.{fmt}?" + urlencode(q.params(offset=0)),
            "print_link": "/invoices/print?" + urlencode(q.params(offset=0)),
            "pdf_link": "/invoices/print.pdf?" + urlencode(q.params(offset=0)),
            "search": listing,
            "list_states": listing_states.states(),
            "state_cell": lambda state, row: listing_states.details(
                state, row.get(state.name), lang
            ),
            "state_word": lambda state, code: listing_states.value_word(state, code, lang),
        },
    )


@router.get("/invoices/export.csv")
def export_csv(request: Request, caller: Exporter) -> Response:
    q = _with_states(_query(request))
    rows = queries.stream(request.app.state.engine, q, caller.user.tenants)
    return StreamingResponse(
        data.csv_chunks(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=invoices.csv"},
    )


@router.get("/invoices/export.xlsx")
async def export_xlsx(request: Request, caller: Exporter) -> Response:
    q = _with_states(_query(request))
    engine, tenants = request.app.state.engine, caller.user.tenants
    body = await jobs.run(lambda: data.xlsx_bytes(queries.stream(engine, q, tenants)))
    return Response(
        body,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=invoices.xlsx"},
    )


@router.get("/invoices/print")
def print_list(request: Request, caller: Reader) -> Response:
    q = _query(request)
    rows = list(queries.stream(request.app.state.engine, q, caller.user.tenants))[:5000]
    pdf_link = "/invoices/print.pdf?" + urlencode(q.params(offset=0))
    return render(request, "print_list.html", {"rows": rows, "q": q, "pdf_link": pdf_link})


PRINT_PDF_ROWS = 5000


def _pdf(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/invoices/print.pdf")
async def print_list_pdf(request: Request, caller: Reader) -> Response:
    """The filtered list as PDF with totals (`fapiao print key=value …` from the browser); a job."""
    q = _query(request)
    names = {t["id"]: t["name"] for t in auth.tenant_names(ledger_for(request), caller.user)}
    shown = " ".join(f"{k}={v}" for k, v in q.params(offset=0, limit=None).items())
    if q.tenant is not None and q.tenant in names:
        shown = f"{names[q.tenant]} · {shown}"
    engine, tenants = request.app.state.engine, caller.user.tenants

    def job() -> bytes:
        rows = queries.stream(engine, _with_states(q), tenants)
        attestation = checkpoint.stamp(engine)
        return printing.list_pdf(
            rows, subtitle=shown, max_rows=PRINT_PDF_ROWS, attestation=attestation
        )[0]

    return _pdf(await jobs.run(job), "invoices.pdf")


@router.get("/invoices/{invoice_id}/print.pdf")
def invoice_print_pdf(request: Request, invoice_id: int, caller: Reader) -> Response:
    """One invoice as PDF (`fapiao print ID` from the browser)."""
    found = _detail(request, caller, invoice_id)
    names = {t["id"]: t["name"] for t in auth.tenant_names(ledger_for(request), caller.user)}
    body = printing.invoice_pdf(
        found,
        tenant_name=names.get(found.get("tenant_id", -1)),
        attestation=checkpoint.stamp(request.app.state.engine),
    )
    return _pdf(body, f"{found.get('number') or invoice_id}.pdf")


def _detail(request: Request, caller: Caller, invoice_id: int) -> dict[str, Any]:
    found = data.invoice_detail(request.app.state.engine, caller.user, invoice_id)
    if found is None:
        raise not_found()
    return found


@router.get("/invoices/{invoice_id}")
def invoice_page(request: Request, invoice_id: int, caller: Reader) -> Response:
    found = _detail(request, caller, invoice_id)
    shown_text, media = None, None
    got = data.original(request.app.state.engine, caller.user, invoice_id)
    if got is not None:
        media, as_text = data.content_type(got[1])
        if as_text:
            shown_text = got[1][:200_000].decode("utf-8", errors="replace")
    return render(
        request,
        "invoice.html",
        {
            "inv": found,
            "media": media,
            "original_text": shown_text,
            "has_original": got is not None,
        },
    )


@router.get("/invoices/{invoice_id}/original")
def invoice_original(
    request: Request, invoice_id: int, caller: Reader, download: int = 0
) -> Response:
    got = data.original(request.app.state.engine, caller.user, invoice_id)
    if got is None:
        raise not_found()
    name, body = got
    media, as_text = data.content_type(body)
    if as_text:
        media = "text/plain; charset=utf-8"
    base = name.replace("\\", "/").rsplit("/", 1)[-1] or "original"
    disposition = "attachment" if download else "inline"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(base)}",
            "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'"
            + ("" if media == "application/pdf" else "; sandbox"),
        },
    )


@router.get("/invoices/{invoice_id}/print")
def invoice_print(request: Request, invoice_id: int, caller: Reader) -> Response:
    return render(request, "print_invoice.html", {"inv": _detail(request, caller, invoice_id)})


# --- upload -------------------------------------------------------------------------------------


@router.get("/upload")
def upload_page(request: Request, caller: Writer) -> Response:
    return render(request, "upload.html", {"max_mb": MAX_FILE_BYTES // (1024 * 1024)})


def read_upload(file: UploadFile) -> bytes | None:
    """The file's bytes, None above the per-file cap (a blocking read: call it in a job)."""
    return uploads.read(file, MAX_FILE_BYTES)


@router.post("/upload/file")
async def upload_file(request: Request, caller: Writer, file: UploadFile) -> Response:
    """One file per request, so the page shows progress and a result for each file."""
    name = (file.filename or "upload").replace("\\", "/")[-300:]
    led, user = ledger_for(request, caller.user), caller.user

    def job() -> dict[str, Any]:
        return data.import_uploads(led, user, [(name, read_upload(file))]).to_json()

    out: dict[str, Any] = {"file": name, **await jobs.run(job)}
    return JSONResponse(out)


# --- users and audit ----------------------------------------------------------------------------


@router.get("/users")
def users_page(request: Request, caller: UserAdmin, error: str = "") -> Response:
    led = ledger_for(request)
    people = auth.list_users(led)
    return render(
        request,
        "users.html",
        {
            "users": people,
            "tokens": {u["name"]: auth.list_tokens(led, u["name"]) for u in people},
            "tenants": led.tenant_rows(),
            "roles": auth.ROLES,
            "error": error,
        },
    )


def _user_change(request: Request, caller: Caller, fn: Any, *args: Any) -> Response:
    """Runs one change of a user as the caller; back to the page, with the reason if refused."""
    try:
        if fn in (auth.set_role, auth.set_disabled) and args[0] == caller.user.name:
            raise auth.not_yourself()
        fn(ledger_for(request, caller.user), *args)
    except auth.AuthError as exc:
        msg = exc.en if lang_of(request) == "en" else exc.zh
        return RedirectResponse("/users?error=" + quote(msg), status_code=303)
    return RedirectResponse("/users", status_code=303)


@router.post("/users")
def users_add(
    request: Request,
    caller: UserAdmin,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    role: Annotated[str, Form(max_length=20)],
    tenants: Annotated[list[str] | None, Form()] = None,
) -> Response:
    def add(led: Any) -> None:
        auth.add_user(led, name=name, password=password, role=role, tenants=tenants or [])

    return _user_change(request, caller, add)


@router.post("/users/{name}/grants")
def users_grants(
    request: Request,
    name: str,
    caller: UserAdmin,
    tenants: Annotated[list[str] | None, Form()] = None,
) -> Response:
    return _user_change(request, caller, auth.set_grants, name, tenants or [])


@router.post("/users/{name}/unlock")
def users_unlock(request: Request, name: str, caller: UserAdmin) -> Response:
    return _user_change(request, caller, auth.unlock, name)


@router.post("/users/{name}/role")
def users_role(
    request: Request, name: str, caller: UserAdmin, role: Annotated[str, Form(max_length=20)]
) -> Response:
    return _user_change(request, caller, auth.set_role, name, role)


@router.post("/users/{name}/disable")
def users_disable(request: Request, name: str, caller: UserAdmin) -> Response:
    return _user_change(request, caller, auth.set_disabled, name, True)


@router.post("/users/{name}/enable")
def users_enable(request: Request, name: str, caller: UserAdmin) -> Response:
    return _user_change(request, caller, auth.set_disabled, name, False)


@router.post("/users/{name}/tokens/{token_id}/revoke")
def users_token_revoke(request: Request, name: str, token_id: int, caller: UserAdmin) -> Response:
    return _user_change(request, caller, auth.revoke_tokens, name, token_id)


@router.get("/audit")
def audit_page(request: Request, caller: Auditor, verify: int = 0) -> Response:
    from fapiao.ledger import audit

    engine = request.app.state.engine
    report = audit.verify(engine) if verify and caller.user.tenants is None else None
    return render(
        request, "audit.html", {"events": data.recent_events(engine, caller.user), "report": report}
    )


@router.get("/help")
def help_page(request: Request, caller: Reader) -> Response:
    return render(request, "help.html", {})
