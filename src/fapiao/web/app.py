"""`create_app(db)`: the FastAPI application with pages, API, static files and security headers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from fapiao.ledger.db import open_engine
from fapiao.web import security, uploads
from fapiao.web.security import LANG_COOKIE, Problem

HERE = Path(__file__).parent
# Served without a session, on purpose: the login itself, language switch, static files, health
# and readiness probes, the API's description, and metrics (open to loopback scrapers only).
PUBLIC_PATHS = (
    "/login",
    "/lang/",
    "/static/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
)


def cookie_secure() -> bool:
    """Session cookies carry Secure unless FAPIAO_COOKIE_SECURE=0 (a plain-HTTP test rig)."""
    return os.environ.get("FAPIAO_COOKIE_SECURE", "1") != "0"


def lang_of(request: Request) -> str:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else "zh"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["quote"] = quote
    return templates


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    from fapiao.web import nav

    lang = lang_of(request)
    caller = security.identify(request) if "caller" not in context else context["caller"]

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    base = {
        "request": request,
        "lang": lang,
        "t": t,
        "caller": caller,
        "user": caller.user if caller else None,
        "csrf": caller.csrf if caller else "",
        "nav": nav.visible(caller.user) if caller else [],
        "path": request.url.path,
    }
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, base | context, status_code=status)


def safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login or a language switch."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def register_capabilities(app: FastAPI) -> None:
    """Routes and navigation entries every registered capability declares (fapiao.plugins)."""
    from fapiao import plugins
    from fapiao.web import nav

    for module in plugins.load("api") + plugins.load("pages"):
        app.include_router(module.router)
        if hasattr(module, "register"):  # blocks on shared pages (the invoice page's states)
            module.register(app)
    for entry in plugins.nav_entries():
        nav.add_page(nav.NavItem(entry.path, entry.zh, entry.en, entry.permission, entry.order))


def create_app(db: str | None = None, *, engine: Engine | None = None) -> FastAPI:
    from fapiao.web import api, api_users, pages

    app = FastAPI(
        title="fapiao",
        version="1",
        description="发票台账 API / invoice ledger API. Authenticate with `Authorization: Bearer <token>` "
        "(`fapiao user token NAME`).",
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        dependencies=[Depends(security.ids_in_range)],
    )
    app.state.engine = engine or open_engine(db)
    app.state.templates = make_templates()
    app.add_middleware(uploads.BodyLimit)  # inside the security headers, so a 413 carries them
    app.add_middleware(security.SecurityHeaders, hsts=cookie_secure())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(api_users.router)
    app.include_router(pages.router)
    pages.register_optional(app)
    register_capabilities(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return problem_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed"}
        problem = Problem(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            str(exc.detail),
        )
        if exc.status_code == 404:
            problem = security.not_found()
        resp = problem_response(request, problem)
        for key, value in (exc.headers or {}).items():
            resp.headers[key] = value
        if exc.status_code == 405:
            resp.headers["Allow"] = ", ".join(allowed_methods(request))
        return resp

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )[:500]
        return problem_response(
            request,
            Problem(422, "invalid", f"请求参数无效：{detail}", f"invalid request: {detail}"),
        )

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> Response:
        # the same shape for a failure nobody foresaw: JSON under /api/, an error page elsewhere
        problem = Problem(
            500, "internal", "服务器内部错误，请稍后重试", "internal error, try again"
        )
        return problem_response(request, problem)

    return app


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (one route per method, so Starlette's own
    405 names only one)."""
    from starlette.routing import Match, Route

    methods: set[str] = set()
    for route in request.app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**request.scope, "method": next(iter(route.methods))})
            if match is Match.FULL:
                methods |= route.methods
    return sorted(methods)


def problem_response(request: Request, problem: Problem) -> Response:
    if request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
        return JSONResponse(problem.to_json(), status_code=problem.status, headers=headers)
    if problem.status == 401 and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    try:
        return render(request, "error.html", {"problem": problem}, status=problem.status)
    except Exception:  # the error page itself must not fail
        return HTMLResponse(f"<h1>{problem.status}</h1><p>{problem.en}</p>", problem.status)
