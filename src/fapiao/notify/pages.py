"""/notify: each user picks what they are told and where (their own channels, their e-mail, or a
channel the administrator shared). Addresses are shown masked; a user sees and removes only their
own channels and subscriptions."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.notify import store
from fapiao.notify.events import EVENTS, LEDGER_WIDE
from fapiao.notify.store import NotifyError
from fapiao.web.security import Caller, ledger_for, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
SUBSCRIBABLE = [e for e in EVENTS if e.name != "notify.test"]


def _back(request: Request, exc: NotifyError | None = None) -> RedirectResponse:
    error = "" if exc is None else (exc.en if lang_of(request) == "en" else exc.zh)
    return RedirectResponse("/notify" + (f"?error={quote(error)}" if error else ""), 303)


def _own_name(caller: Caller, name: str) -> str:
    """A user's channel names carry their user name, so two users never collide."""
    return f"{caller.user.name}.{name}"[:60]


@router.get("/notify")
def notify_page(request: Request, caller: Reader, error: str = "") -> Response:
    engine = request.app.state.engine
    me = caller.user.name
    return render(
        request,
        "notify.html",
        {
            "events": [  # a user of some companies is never told of the whole ledger's events
                e for e in SUBSCRIBABLE if caller.user.ledger_wide or e.name not in LEDGER_WIDE
            ],
            "channels": store.list_channels(engine, owner=me),
            "subscribed": store.subscriptions(engine, me),
            "error": error,
        },
    )


@router.post("/notify/channels")
def add_channel(
    request: Request,
    caller: Reader,
    name: Annotated[str, Form(max_length=40)],
    url: Annotated[str, Form(max_length=2000)] = "",
    email: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    try:
        target = url.strip() or store.email_url(email.strip())
        store.add_channel(
            ledger_for(request, caller.user),
            _own_name(caller, name),
            target,
            owner=caller.user.name,
        )
    except NotifyError as exc:
        return _back(request, exc)
    return _back(request)


@router.post("/notify/channels/{name}/remove")
def remove_channel(request: Request, caller: Reader, name: str) -> Response:
    try:
        store.remove_channel(ledger_for(request, caller.user), name, owner=caller.user.name)
    except NotifyError as exc:
        return _back(request, exc)
    return _back(request)


@router.post("/notify/subscriptions")
async def save_subscriptions(request: Request, caller: Reader) -> Response:
    form = await request.form()
    pairs = {(str(v).partition("|")[0], str(v).partition("|")[2]) for v in form.getlist("sub")}
    try:
        store.set_subscriptions(
            ledger_for(request, caller.user),
            caller.user.name,
            pairs,
            tenant_ids=caller.user.tenants,
        )
    except NotifyError as exc:
        return _back(request, exc)
    return _back(request)
