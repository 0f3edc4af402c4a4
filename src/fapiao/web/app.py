"""`create_app(db)`: the FastAPI application with pages, API, static files and security headers.

Rendering (templates, language, the page's common context) lives in `fapiao.web.templating`, which
every page module uses; this module assembles the application from them and is imported by none."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from fapiao.auth import users
from fapiao.findings import Refusal
from fapiao.ledger.db import open_engine
from fapiao.pdffont import FontMissing
from fapiao.web import api, pages, security, uploads
from fapiao.web.security import Problem
from fapiao.web.templating import cookie_secure, make_templates, render

HERE = Path(__file__).parent
# Served without a session, on purpose: the login itself, language switch, static files, health
# and readiness probes, the API's description, and metrics (open to loopback scrapers only).
PUBLIC_PATHS = (
    "/login",
    "/lang/",
    "/static/",
    "/favicon.ico",
    "/healthz",
    "/readyz",
    "/metrics",
    "/api/v1/openapi.json",
)


def register_capabilities(app: FastAPI) -> None:
    """Routes and navigation entries every registered capability declares (fapiao.plugins).

    A declared module exposes a `router`; it may also expose `install(app)` for what a router cannot
    carry (middleware, exception handlers, shutdown work, dashboard panels)."""
    from fapiao import plugins
    from fapiao.web import nav

    for module in plugins.load("api") + plugins.load("pages"):
        app.include_router(module.router)
        install = getattr(module, "install", None)
        if install is not None:
            install(app)
    for entry in plugins.nav_entries():
        nav.add_page(nav.NavItem(entry.path, entry.zh, entry.en, entry.permission, entry.order))


def create_app(db: str | None = None, *, engine: Engine | None = None) -> FastAPI:
    from fapiao import plugins

    problems = plugins.check_declarations(
        imported=("tables", "pages", "api", "checks", "metrics", "findings")
    )
    if problems:  # a declared page or module that does not import stops the start, loudly
        raise plugins.DeclarationError("capability declarations broken:\n" + "\n".join(problems))
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
    users.prepare_logins()
    app.state.templates = make_templates()
    app.add_middleware(uploads.BodyLimit)  # inside the security headers, so a 413 carries them
    app.add_middleware(security.SecurityHeaders, hsts=cookie_secure())
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    register_capabilities(app)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        # browsers ask for it before anyone logs in; a 404 (or a login redirect) there is noise
        return FileResponse(
            HERE / "static" / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return problem_response(request, exc)

    @app.exception_handler(FontMissing)
    async def on_font_missing(request: Request, exc: FontMissing) -> Response:
        # a PDF without its embedded CJK font would show blank text: refuse, saying what to install
        f = exc.finding
        return problem_response(request, Problem(503, f.code, f.message, f.message_en))

    @app.exception_handler(Refusal)
    async def on_refusal(request: Request, exc: Refusal) -> Response:
        return problem_response(request, Problem.of(exc))

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
