"""The outbox in the browser (`/outbox`): what waits to go to the tax platform, what is in flight,
what the platform refused and why; retry or park an entry (writers). Also `GET /api/v1/outbox`.
Entries are seen and changed only within the caller's companies. Declared by `fapiao.sync.plugin`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.money import format_fen
from fapiao.sync import manage
from fapiao.web.security import Caller, ledger_for, not_found, requires
from fapiao.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
EntryId = Annotated[int, Path(ge=0, le=2**62)]


def _in_scope(request: Request, caller: Caller, entry_id: int) -> None:
    tenant = manage.tenant_of(ledger_for(request), entry_id)
    if tenant is None or not caller.user.sees(tenant):
        raise not_found()


@router.get("/outbox")
def outbox_page(request: Request, caller: Reader, done: str = "") -> Response:
    rows = manage.entries(request.app.state.engine, caller.user.tenants)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in manage.GROUPS}
    for r in rows:
        if r["group"] in groups:
            groups[r["group"]].append(r)
    return render(
        request,
        "outbox.html",
        {
            "groups": groups,
            "words": manage.WORDS,
            "fen": format_fen,
            "can_write": caller.user.can("write"),
            "done": done,
        },
    )


@router.post("/outbox/{entry_id}/retry")
def outbox_retry(request: Request, entry_id: EntryId, caller: Writer) -> Response:
    _in_scope(request, caller, entry_id)
    manage.retry(ledger_for(request, caller.user), entry_id)
    return RedirectResponse(f"/outbox?done=retried-{entry_id}", status_code=303)


@router.post("/outbox/{entry_id}/park")
def outbox_park(
    request: Request,
    entry_id: EntryId,
    caller: Writer,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _in_scope(request, caller, entry_id)
    manage.park(ledger_for(request, caller.user), entry_id, reason)
    return RedirectResponse(f"/outbox?done=parked-{entry_id}", status_code=303)
