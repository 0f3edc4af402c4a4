"""The work list in the browser: the reconcile actions still to do (`/actions`), grouped by
category with the amount at risk, filtered by category, company and state; one remedy at a time
after a confirmation page (or its approval by a second person, when the tenant asks for four eyes),
and the re-upload of many 平台缺失 invoices at once (also confirmed).

Every change goes through `fapiao.reconcile.remedies.perform`, as `fapiao actions do` does; the
caller sees and changes only actions of the companies granted to them. Also the dashboard's first
card (`install`): how many invoices the platform lacks and we lack, with their amounts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Request
from fastapi.responses import Response

from fapiao.auth import users as auth
from fapiao.money import format_fen
from fapiao.reconcile import approval, remedies, worklist
from fapiao.web import nav
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires
from fapiao.web.templating import render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
Writer = Annotated[Caller, Depends(requires("write"))]
ActionId = Annotated[int, Path(ge=0, le=2**62)]
BULK_MAX = 500  # actions re-uploaded by one confirmation


def yuan(fen: int) -> str:
    """¥ with thousands separators, as people read amounts."""
    text = format_fen(fen)
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, _, part = text.partition(".")
    return f"{sign}{int(whole):,}.{part}"


def visible(request: Request, caller: Caller, action_id: int) -> dict[str, Any]:
    """The action, if the caller's companies include its company; else 404 (never a 403 that
    would tell another company's action exists)."""
    found = remedies.get_action(request.app.state.engine, action_id)
    if found is None or not caller.user.sees(found["tenant_id"]):
        raise not_found()
    return found


def _context(request: Request, caller: Caller) -> dict[str, Any]:
    tenants = auth.tenant_names(ledger_for(request), caller.user)
    return {
        "tenants": tenants,
        "tenant_names": {t["id"]: t["name"] for t in tenants},
        "titles": worklist.TITLES,
        "states": worklist.STATE_WORDS,
        "yuan": yuan,
        "amount": lambda a: yuan(worklist.amount_fen(a)),
        "can_write": caller.user.can("write"),
    }


@router.get("/actions")
def actions_page(
    request: Request,
    caller: Reader,
    category: str = "",
    tenant: str = "",
    state: str = "active",
    done: str = "",
) -> Response:
    context = _context(request, caller)
    state = state if state in worklist.FILTER_STATES else "active"
    category = category if category in worklist.TITLES else ""
    tenant_id = int(tenant) if tenant.isdigit() and caller.user.sees(int(tenant)) else None
    rows = worklist.actions(
        request.app.state.engine,
        caller.user.tenants,
        tenant_id=tenant_id,
        state=state,
        category=category or None,
    )
    groups = worklist.grouped(rows)
    return render(
        request,
        "actions/index.html",
        context
        | {
            "groups": groups,
            "at_risk": yuan(sum(g.total_fen for g in groups)),
            "count": len(rows),
            "filters": {"category": category, "tenant": tenant_id or "", "state": state},
            "filter_states": worklist.FILTER_STATES,
            "done": done,
        },
    )


@router.get("/actions/{action_id}")
def action_page(request: Request, action_id: ActionId, caller: Reader) -> Response:
    """One action, its finding and history; the remedy's button leads to POST after this page."""
    found = visible(request, caller, action_id)
    asked = approval.requested(request.app.state.engine, action_id)
    extra = {"a": found, "requested_by": asked["actor"] if asked else ""}
    return render(request, "actions/item.html", _context(request, caller) | extra)


@router.post("/actions/{action_id}/do")
def action_do(request: Request, action_id: ActionId, caller: Writer) -> Response:
    visible(request, caller, action_id)
    done = remedies.perform(ledger_for(request, caller.user), action_id)
    return render(
        request,
        "actions/done.html",
        _context(request, caller) | {"performed": [done], "failed": []},
    )


@router.post("/actions/{action_id}/approve")
def action_approve(request: Request, action_id: ActionId, caller: Writer) -> Response:
    """Four eyes: a second person approves the requested remedy (the requester is refused with the
    finding `four_eyes`, shown on the error page; nothing changes then)."""
    visible(request, caller, action_id)
    done = approval.approve(ledger_for(request, caller.user), action_id)
    return render(
        request,
        "actions/done.html",
        _context(request, caller) | {"performed": [done], "failed": []},
    )


@router.post("/actions/reupload")
async def actions_reupload(
    request: Request,
    caller: Writer,
    confirmed: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The selected 平台缺失 actions back into the outbox. The first POST shows what would be
    re-uploaded; the second (`confirmed=1`) does it."""
    form = await request.form()
    ids = sorted({int(v) for v in form.getlist("id") if isinstance(v, str) and v.isdigit()})
    if not ids:
        raise Problem(
            422, "nothing_selected", "请先勾选要重新上传的事项", "select the actions to re-upload"
        )
    if len(ids) > BULK_MAX:
        raise Problem(
            422,
            "too_many",
            f"一次最多重新上传 {BULK_MAX} 项",
            f"at most {BULK_MAX} actions at once",
        )
    chosen = [visible(request, caller, i) for i in ids]
    wrong = [a for a in chosen if a["remedy"] != "reupload" or a["state"] not in remedies.ACTIVE]
    if wrong:
        a = wrong[0]
        raise Problem(
            422,
            "not_reupload",
            f"事项 {a['id']} 不是待重新上传的事项",
            f"action {a['id']} is not an open re-upload",
        )
    context = _context(request, caller)
    if confirmed != "1":
        total = yuan(sum(worklist.amount_fen(a) for a in chosen))
        return render(
            request, "actions/confirm_bulk.html", context | {"chosen": chosen, "total": total}
        )
    led = ledger_for(request, caller.user)
    performed, failed = [], []
    for a in chosen:
        try:
            performed.append(remedies.perform(led, int(a["id"])))
        except remedies.ActionError as exc:  # one gone meanwhile does not stop the others
            failed.append((a, exc))
    return render(
        request, "actions/done.html", context | {"performed": performed, "failed": failed}
    )


# --- the dashboard's first card -----------------------------------------------------------------


def _lacking_rows(engine: Any, user: Any) -> list[tuple[str, str, Any]]:
    figures = worklist.lacking(engine, user.tenants)
    theirs, ours = figures["missing_at_authority"], figures["missing_in_ledger"]
    return [
        ("平台缺失（张）", "the platform lacks (invoices)", theirs["count"]),
        ("平台缺失金额", "amount the platform lacks", "¥" + yuan(theirs["total_fen"])),
        ("我方缺失（张）", "we lack (invoices)", ours["count"]),
        ("我方缺失金额", "amount we lack", "¥" + yuan(ours["total_fen"])),
    ]


def install(app: FastAPI) -> None:
    """The dashboard's first card, linking to the work list."""
    nav.add_panel(
        nav.Panel(
            "lacking",
            "与税务平台的差异",
            "Differences with the tax platform",
            _lacking_rows,
            order=1,
            href="/actions",
        )
    )
