"""The reconcile API: the work list (`GET /api/v1/actions`, the items of `fapiao actions list
--json`), carrying out one remedy (`POST /api/v1/actions/{id}/do`, as `fapiao actions do --json`)
and reconciling an uploaded export (`POST /api/v1/reconcile`).

An upload is refused as the command line and the page refuse it — a file that is not an export,
another taxpayer's, another period's: 422 with the finding's code, nothing recorded. A result that
would close more than half the open actions is applied only with `confirm=true` (else 409
`confirm_needed`, nothing recorded). Tokens see the actions of their companies only.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from fapiao.findings import finding
from fapiao.reconcile import approval, remedies, worklist
from fapiao.reconcile import pages as reconcile_pages
from fapiao.reconcile.pages_actions import ActionId, Reader, Writer, visible
from fapiao.web import jobs, uploads
from fapiao.web.api import ERRORS
from fapiao.web.security import Problem, ledger_for, not_found

jobs.preload(__name__)  # its `reconcile_json` runs in a job's own process

router = APIRouter(prefix="/api/v1", tags=["reconcile"], responses=ERRORS)

Category = Literal[
    "missing_at_authority",
    "missing_in_ledger",
    "mismatched",
    "status_mismatch",
    "duplicates_at_authority",
    "deduction_mismatch",
]
StateFilter = Literal["active", "open", "in_progress", "resolved", "waived", "all"]


class Action(BaseModel):
    id: str
    tenant_id: int
    category: str
    identity_key: str
    code: str
    number: str
    issue_date: str
    remedy: str
    remedy_zh: str
    remedy_en: str
    state: str
    owner: str
    due_date: str
    notes: str
    detail: dict[str, Any] = Field(description="the finding, with both sides' values")
    first_run_id: int
    last_run_id: int
    resolution: str
    created_at: str
    updated_at: str


class Performed(BaseModel):
    action_id: int
    remedy: str
    state: str
    message: str
    letter: str
    invoice_id: str


class ReconcileOut(BaseModel):
    """As `fapiao reconcile --json`, with the actions filed and the export's warnings."""

    ledger_count: int
    authority_count: int
    matched: int
    missing_at_authority: list[dict[str, Any]]
    missing_in_ledger: list[dict[str, Any]]
    mismatched: list[dict[str, Any]]
    status_mismatch: list[dict[str, Any]]
    duplicates_at_authority: list[dict[str, Any]]
    deduction_mismatch: list[dict[str, Any]] = Field(
        description="勾选 differs: received invoices whose selection, purpose or period differ"
    )
    actions: dict[str, int] | None = Field(description="opened, kept, reopened, closed, run_id")
    findings: list[dict[str, Any]] = Field(description="warnings about the export file")


@router.get("/actions", response_model=list[Action])
def api_actions(
    request: Request,
    caller: Reader,
    tenant: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    state: StateFilter = "active",
    category: Category | None = None,
) -> list[dict[str, Any]]:
    """Reconcile actions of the caller's companies (default: open and in progress)."""
    if tenant is not None and not caller.user.sees(tenant):
        raise not_found()
    return worklist.actions(
        request.app.state.engine,
        caller.user.tenants,
        tenant_id=tenant,
        state=state,
        category=category,
    )


@router.post("/actions/{action_id}/do", response_model=Performed)
def api_action_do(request: Request, action_id: ActionId, caller: Writer) -> dict[str, Any]:
    """Carry out the action's remedy (re-upload, letter, take the platform's record, void), or
    file it for a second person when the tenant asks for four eyes."""
    visible(request, caller, action_id)
    return asdict(remedies.perform(ledger_for(request, caller.user), action_id))


@router.post("/actions/{action_id}/approve", response_model=Performed)
def api_action_approve(request: Request, action_id: ActionId, caller: Writer) -> dict[str, Any]:
    """Four eyes: approve a remedy someone else requested; it is carried out under your name (a
    refusal — nothing to approve, the requester approving — is 409 with its finding's code)."""
    visible(request, caller, action_id)
    return asdict(approval.approve(ledger_for(request, caller.user), action_id))


@router.post(
    "/reconcile",
    response_model=ReconcileOut,
    responses={409: {"description": "would close more than half the open actions: confirm"}},
)
async def api_reconcile(
    request: Request,
    caller: Writer,
    export: UploadFile,
    tenant: Annotated[int, Form(ge=0, le=2**31 - 1)],
    period: Annotated[str, Form(pattern=r"^$|^[1-9]\d{3}(-(0[1-9]|1[0-2]))?$")] = "",
    confirm: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Reconcile the platform's export (全量发票查询, xlsx/xls/csv or a zip of them) for one
    company and period; files each finding as an action."""
    led = ledger_for(request, caller.user)
    if not caller.user.sees(tenant) or all(r["id"] != tenant for r in led.tenant_rows()):
        raise not_found()
    uploads.check(export, reconcile_pages.EXPORT_CAP)
    suffix = Path(export.filename or "export.xlsx").suffix.lower()
    await asyncio.to_thread(sniff, export, suffix)
    source = await asyncio.to_thread(reconcile_pages.receive, caller.user.id, export, suffix)
    url = led.engine.url.render_as_string(hide_password=False)
    try:
        answer = await jobs.run_in_process(
            reconcile_json, url, led.actor, tenant, period or None, str(source), confirm
        )
    finally:
        reconcile_pages.remove(source.parent)  # the API keeps no report
    if "confirm" in answer:
        c = answer["confirm"]
        raise Problem(
            409,
            "confirm_needed",
            f"此次对账将关闭 {c['open']} 个未处理事项中的 {c['closing']} 个：确认无误请加 confirm=true",
            f"this would close {c['closing']} of {c['open']} open actions: send confirm=true",
        )
    return answer


# a zip: the platform's download of a long period, its lists inside (`export_table._read_zip`)
SIGNATURES = {".xlsx": b"PK\x03\x04", ".xls": b"\xd0\xcf\x11\xe0", ".zip": b"PK\x03\x04"}


def sniff(export: UploadFile, suffix: str) -> None:
    """A file that cannot be an export (a spreadsheet without a spreadsheet's first bytes, text
    with NUL bytes, another kind of file) is refused here, as the reconcile would refuse it, without
    starting the job's process."""
    head = export.file.read(4096)
    export.file.seek(0)
    wanted = SIGNATURES.get(suffix)
    usable = head.startswith(wanted) if wanted else suffix == ".csv" and b"\x00" not in head
    if not usable:
        f = finding(
            "export_unusable",
            "authority",
            source=(export.filename or "upload")[-200:],
            detail="不是 xlsx/xls/csv/zip 文件",
            detail_en="not an xlsx, xls, csv or zip file",
        )
        raise Problem(422, f.code, f.message, f.message_en)


def reconcile_json(
    url: str, actor: str, tenant: int, period: str | None, source: str, confirmed: bool
) -> dict[str, Any]:
    """In the job's child process: reconcile and answer as data (refusals are `Problem`s)."""
    from fapiao.ledger.db import open_engine
    from fapiao.ledger.store import Ledger
    from fapiao.reconcile import run as reconcile_run
    from fapiao.reconcile.gate import NeedsConfirmation

    engine = open_engine(url, migrate=False)
    try:
        led = Ledger(engine, actor=actor)
        try:
            outcome = reconcile_run.run(
                led,
                tenant=str(tenant),
                period=period,
                authority=source,
                ask_over_half=not confirmed,
            )
        except NeedsConfirmation as exc:
            return {"confirm": {"closing": exc.closing.closing, "open": exc.closing.open}}
        except reconcile_run.Refused as exc:
            f = exc.finding
            raise Problem(422, f.code, f.message, f.message_en) from exc
        except reconcile_run.UsageError as exc:
            raise Problem(422, "reconcile_usage", exc.zh, exc.en) from exc
    finally:
        engine.dispose()
    return outcome.result.to_json() | {
        "actions": outcome.summary.to_json() if outcome.summary else None,
        "findings": [f.to_json() for f in outcome.findings],
    }
