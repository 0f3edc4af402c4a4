"""The review queue in the browser and the API: the original beside an editable form of every
field (failing fields marked, Tab order = reading order, Enter accepts and opens the next item),
reject with a reason, 'Complete from 查验'. Tenant scope: an item is seen by users granted the
seller's or the buyer's tenant as read from the file; items naming no tenant by all-tenant users.
Declared by `fapiao.review.plugin`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request
from fastapi.responses import RedirectResponse, Response

from fapiao.auth import users as auth
from fapiao.review import queue
from fapiao.review.complete import Completion, from_verify
from fapiao.review.preview import preview
from fapiao.review.resolve import accept, reject
from fapiao.web import nav
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires
from fapiao.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
ItemId = Annotated[int, Path(ge=0, le=2**62)]
FIELD = "field:"  # form inputs are named field:<path>
FROM_AUTHORITY = "authority:"  # hidden: the value 查验 filled in, to tell it from a person's


def scope(request: Request, caller: Caller) -> tuple[set[str] | None, dict[str, int]]:
    """(tax IDs whose items the caller sees, None for all; tax ID -> tenant id it may record)."""
    granted = auth.tenant_names(ledger_for(request), caller.user)
    tenants = {t["tax_id"]: t["id"] for t in granted}
    return (None if caller.user.tenants is None else set(tenants)), tenants


def item_in_scope(request: Request, caller: Caller, item_id: int) -> queue.Item:
    tax_ids, _ = scope(request, caller)
    item = queue.get_item(request.app.state.engine, item_id, tax_ids)
    if item is None:
        raise not_found()
    return item


# --- pages --------------------------------------------------------------------------------------


@router.get("/review")
def review_list(request: Request, caller: Reader, state: str = "open") -> Response:
    tax_ids, _ = scope(request, caller)
    state = state if state in (*queue.STATES, "all") else "open"
    items = queue.list_items(
        request.app.state.engine, state=None if state == "all" else state, tax_ids=tax_ids
    )
    return render(request, "review/list.html", {"items": items, "state": state})


@router.get("/review/{item_id}")
def review_page(request: Request, item_id: ItemId, caller: Reader) -> Response:
    return _page(request, caller, item_in_scope(request, caller, item_id))


def _page(
    request: Request,
    caller: Caller,
    item: queue.Item,
    *,
    values: Mapping[str, str] | None = None,
    filled: Mapping[str, str] | None = None,
    problems: list[Any] | None = None,
    completion: Completion | None = None,
    status: int = 200,
) -> Response:
    current = item.current()
    shown = {p: r.value for p, r in current.items()} | dict(values or {}) | dict(filled or {})
    live = problems
    if live is None and item.state == "open":
        _inv, live = queue.check(current)
    live = live or []
    data = queue.blob(request.app.state.engine, item.sha256) or b""
    pv = preview(data)
    return render(
        request,
        "review/item.html",
        {
            "item": item,
            "paths": queue.form_paths(current),
            "values": shown,
            "sources": {p: r.source for p, r in current.items()},
            "filled": dict(filled or {}),
            "failing": queue.failing_fields(item.findings) | queue.failing_fields(live),
            "live": live,
            "preview": pv,
            "preview_text": pv.body.decode("utf-8", "replace") if pv.kind == "text" else "",
            "completion": completion,
            "can_write": caller.user.can("write"),
            "settable": queue.known_path,
            "has_authority": bool(_authority_url()),
            "FIELD": FIELD,
            "FROM_AUTHORITY": FROM_AUTHORITY,
        },
        status=status,
    )


@router.get("/review/{item_id}/preview")
def review_preview(request: Request, item_id: ItemId, caller: Reader) -> Response:
    item = item_in_scope(request, caller, item_id)
    pv = preview(queue.blob(request.app.state.engine, item.sha256) or b"")
    if pv.kind != "image":
        raise not_found()
    return Response(pv.body, media_type=pv.media, headers={"Cache-Control": "private, max-age=300"})


def form_values(form: Mapping[str, Any]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """({path: (value, source)}, {path: value as typed}): a value is the authority's when it is
    still the one 查验 filled in, else the person's."""
    values: dict[str, tuple[str, str]] = {}
    typed: dict[str, str] = {}
    for key, raw in form.items():
        if not key.startswith(FIELD) or not isinstance(raw, str):
            continue
        path = key[len(FIELD) :]
        if not queue.known_path(path):
            continue
        value = raw.strip()[:400]
        typed[path] = value
        came = form.get(FROM_AUTHORITY + path)
        values[path] = (value, "authority" if came == value and value else "user")
    return values, typed


def _changed_only(item: queue.Item, values: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """The form sends every field; only those that differ from what was read are corrections
    (an empty box for a field never read is not one)."""
    current = item.reads
    return {
        p: v
        for p, v in values.items()
        if v[0] != (current[p].value if p in current else "") and (v[0] or p in current)
    }


def _next(request: Request, caller: Caller, item_id: int, done: str) -> Response:
    tax_ids, _ = scope(request, caller)
    following = queue.next_open(request.app.state.engine, item_id, tax_ids)
    target = f"/review/{following}" if following else "/review"
    return RedirectResponse(f"{target}?done={done}", status_code=303)


@router.post("/review/{item_id}/accept")
async def review_accept(request: Request, item_id: ItemId, caller: Writer) -> Response:
    item = item_in_scope(request, caller, item_id)
    values, typed = form_values(await request.form())
    _, tenants = scope(request, caller)
    tax_ids, _ = scope(request, caller)
    result = accept(
        ledger_for(request, caller.user),
        item_id,
        _changed_only(item, values),
        tax_ids=tax_ids,
        tenants=tenants,
    )
    if not result.ok:
        return _page(request, caller, item, values=typed, problems=result.findings, status=422)
    return _next(request, caller, item_id, f"accepted-{item_id}")


@router.post("/review/{item_id}/reject")
async def review_reject(request: Request, item_id: ItemId, caller: Writer) -> Response:
    item_in_scope(request, caller, item_id)
    form = await request.form()
    reason = form.get("reason")
    tax_ids, _ = scope(request, caller)
    result = reject(
        ledger_for(request, caller.user),
        item_id,
        reason if isinstance(reason, str) else "",
        tax_ids=tax_ids,
    )
    if not result.ok:
        f = result.findings[0]
        raise Problem(422, f.code, f.message, f.message_en)
    return _next(request, caller, item_id, f"rejected-{item_id}")


def _authority_url() -> str:
    from fapiao.insight import settings

    return str(settings.AUTHORITY.get() or "")


def _verify(
    request: Request, caller: Caller, item: queue.Item, typed: Mapping[str, str]
) -> Completion:
    from fapiao.authority.http import HttpConnector

    url = _authority_url()
    if not url:
        raise Problem(
            503,
            "no_authority",
            "未配置税务平台地址（FAPIAO_AUTHORITY）",
            "no authority configured (FAPIAO_AUTHORITY)",
        )
    for path, value in typed.items():  # 查验 with what the person typed so far
        if value and value != (item.reads[path].value if path in item.reads else ""):
            item.changes = [c for c in item.changes if c["field"] != path]
            item.changes.append({"field": path, "from": None, "to": value, "source": "user"})
    with HttpConnector(url) as conn:
        return from_verify(ledger_for(request, caller.user), conn, item)


@router.post("/review/{item_id}/verify")
async def review_verify(request: Request, item_id: ItemId, caller: Writer) -> Response:
    item = item_in_scope(request, caller, item_id)
    _values, typed = form_values(await request.form())
    done = _verify(request, caller, item, typed)
    item = item_in_scope(request, caller, item_id)
    return _page(request, caller, item, values=typed, filled=done.filled, completion=done)


def _dashboard_rows(engine: Any, user: Any) -> list[tuple[str, str, Any]]:
    from fapiao.ledger.store import Ledger

    granted = auth.tenant_names(Ledger(engine), user)
    tax_ids = None if user.tenants is None else {t["tax_id"] for t in granted}
    return [("待复核", "waiting for review", queue.count_open(engine, tax_ids))]


def install(app: FastAPI) -> None:
    """The dashboard's review panel (routes, API and nav entry are declared)."""
    nav.add_panel(nav.Panel("review", "待复核", "Review queue", _dashboard_rows, order=70))
