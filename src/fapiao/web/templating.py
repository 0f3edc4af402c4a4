"""Rendering server-side pages: the templates, the language a visitor reads, the context every page
shares (caller, CSRF token, navigation), and the few rules pages share about cookies and redirects.

Every page module imports this one; none imports `fapiao.web.app`, which assembles them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from fapiao.web import nav, security
from fapiao.web.security import LANG_COOKIE

HERE = Path(__file__).parent


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
