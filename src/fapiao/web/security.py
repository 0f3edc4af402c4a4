"""Who is asking and may they: sessions (cookie), API tokens (Bearer), roles, CSRF, headers.

Errors raised here and in the routes are `Problem`s: one shape for the API
(`{"error": {"code", "message", "message_en"}}`) and one error page for the browser.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fapiao.auth import users as auth
from fapiao.auth.users import User
from fapiao.findings import Refusal
from fapiao.ledger.store import Ledger

SESSION_COOKIE = "fapiao_session"
LOGIN_CSRF_COOKIE = "fapiao_login_csrf"
LANG_COOKIE = "fapiao_lang"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class Problem(Exception):
    """A refused or failed request: HTTP status, a stable code, and why in Chinese and English."""

    def __init__(self, status: int, code: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.code, self.zh, self.en = status, code, zh, en

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.zh, "message_en": self.en}}

    @classmethod
    def of(cls, refusal: Refusal) -> Problem:
        """A refusal the route did not answer itself: 422 when the request must be corrected,
        409 when the data or the state says no; its finding's code and messages."""
        return cls(refusal.status, refusal.code, refusal.zh, refusal.en)


def unauthenticated() -> Problem:
    return Problem(401, "unauthenticated", "请先登录", "log in first")


def forbidden() -> Problem:
    return Problem(403, "forbidden", "没有权限", "not allowed for your role")


def not_found() -> Problem:
    return Problem(404, "not_found", "未找到", "not found")


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response; no caching of private pages."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if hsts else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in [*HEADERS, *self.extra]:
                    if key not in present:
                        headers.append((key, value))
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)


@dataclass(frozen=True, slots=True)
class Caller:
    user: User
    via: str  # session / token
    csrf: str  # the session's CSRF token ("" for tokens)
    token: str  # the session cookie value ("" for tokens)


def ledger_for(request: Request, user: User | None = None) -> Ledger:
    actor = f"web:{user.name}" if user else "web"
    return Ledger(request.app.state.engine, actor=actor)


def identify(request: Request) -> Caller | None:
    """The caller of this request (token or session), looked up once per request; verified tokens
    and sessions are cached a few seconds per process (`auth.users.TOKEN_CACHE_S`)."""
    cached = getattr(request.state, "caller", False)
    if cached is not False:
        return cached
    caller = None
    header = request.headers.get("authorization", "")
    led = ledger_for(request)
    if header[:7].lower() == "bearer ":
        user = auth.token_user(led, header[7:].strip(), clock=time.monotonic())
        caller = Caller(user, "token", "", "") if user else None
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            found = auth.session_user(led, cookie, clock=time.monotonic())
            if found:
                caller = Caller(found[0], "session", found[1], cookie)
    request.state.caller = caller
    return caller


def _identified_from_cache(request: Request) -> bool:
    """Settles the caller without touching the database when the caches know; False otherwise."""
    if getattr(request.state, "caller", False) is not False:
        return True
    header = request.headers.get("authorization", "")
    clock = time.monotonic()
    engine = request.app.state.engine
    if header[:7].lower() == "bearer ":
        found, user = auth.cached_token(header[7:].strip(), clock=clock, engine=engine)
        if found:
            request.state.caller = Caller(user, "token", "", "") if user else None
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        request.state.caller = None
        return True
    hit, value = auth.cached_session(cookie, clock=clock, engine=engine)
    if hit:
        request.state.caller = Caller(value[0], "session", value[1], cookie) if value else None
    return hit


async def identify_async(request: Request) -> Caller | None:
    """`identify` for async routes: a cache hit answers on the event loop; a lookup runs in a
    worker thread, so the loop never waits on the database."""
    if not _identified_from_cache(request):
        await run_in_threadpool(identify, request)
    return identify(request)


async def check_csrf(request: Request, caller: Caller) -> None:
    """A browser session's unsafe request must carry the session's CSRF token (form or header)."""
    if request.method not in UNSAFE or caller.via != "session":
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else ""
    if not sent or not secrets.compare_digest(sent, caller.csrf):
        raise Problem(
            403,
            "csrf",
            "表单已失效（缺少 CSRF 令牌），请刷新页面后重试",
            "missing or wrong CSRF token",
        )


def ledger_wide_only() -> Problem:
    return Problem(
        403,
        "ledger_wide",
        "仅限可查看全部企业的用户（此数据涉及全部企业）",
        "only for users of every tenant (this covers every tenant)",
    )


def requires(permission: str, *, ledger_wide: bool = False) -> Any:
    """Route dependency: a known caller with the permission; CSRF-checked when a browser writes.
    `ledger_wide`: the caller must also see every tenant (user administration, the whole chain)."""

    async def dependency(request: Request) -> Caller:
        caller = await identify_async(request)
        if caller is None:
            raise unauthenticated()
        await check_csrf(request, caller)
        if not caller.user.can(permission):
            raise forbidden()
        if ledger_wide and not caller.user.ledger_wide:
            raise ledger_wide_only()
        return caller

    return dependency


MAX_ID = 2**63 - 1


def ids_in_range(request: Request) -> None:
    """App-wide dependency: a path segment of digits beyond a 64-bit integer names nothing (ids
    are 64-bit in both databases), so it is a 404 before any route parses or queries it."""
    for part in request.url.path.split("/"):
        if len(part) >= 19 and part.isascii() and part.isdigit() and int(part) > MAX_ID:
            raise not_found()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
