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
from jinja2 import pass_context
from markupsafe import Markup

from fapiao import money, vocabulary
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
    # the shared vocabulary: codes as words, amounts with separators, times in Beijing time
    templates.env.filters["word"] = _word
    templates.env.filters["words"] = _words
    templates.env.filters["when"] = _when
    templates.env.filters["event"] = _event
    templates.env.filters["money"] = vocabulary.amount
    templates.env.filters["rate"] = _rate
    templates.env.filters["in_words"] = _in_words
    templates.env.globals["fen"] = vocabulary.fen
    templates.env.globals["FAMILIES"] = vocabulary.FAMILIES
    return templates


@pass_context
def _word(ctx: Any, code: Any, family: str) -> str:
    """`{{ inv.status|word("status") }}` -> 正常 (zh) / normal (en)."""
    return vocabulary.word(family, None if code is None else str(code), ctx.get("lang", "zh"))


@pass_context
def _words(ctx: Any, codes: Any, family: str) -> str:
    """`{{ v.fields|words("field") }}` -> 金额、税额 (a list of codes as words)."""
    lang = ctx.get("lang", "zh")
    sep = ", " if lang == "en" else "、"
    return sep.join(vocabulary.word(family, str(c), lang) for c in codes or ())


@pass_context
def _event(ctx: Any, action: str) -> Markup:
    """`{{ e.action|event }}` -> 登录 <code>user.login</code>: the audit event in words, its code
    kept beside it for the auditor."""
    word = vocabulary.word("event", action, ctx.get("lang", "zh"))
    return Markup('{} <code class="muted">{}</code>').format(word, action)


@pass_context
def _when(ctx: Any, value: Any, seconds: bool = False) -> str:
    """`{{ e.at|when }}` -> 2026-12-04 18:20 北京时间 (stored UTC, shown in Asia/Shanghai)."""
    return vocabulary.shown(value, ctx.get("lang", "zh"), seconds=seconds)


def _in_words(total: Any) -> str:
    """'113.00' -> 壹佰壹拾叁圆整 (价税合计大写); '' when the amount cannot be read."""
    try:
        return money.to_words(money.parse_yuan(str(total)))
    except money.MoneyError:
        return ""


@pass_context
def _rate(ctx: Any, code: Any) -> str:
    return vocabulary.word("rate", None if code is None else str(code), ctx.get("lang", "zh"))


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
