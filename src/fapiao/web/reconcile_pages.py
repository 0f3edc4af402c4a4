"""The reconcile page: upload the platform's export (全量发票查询) for one granted tenant and period,
see the findings with a chart, download the report (xlsx or HTML). Runs `fapiao.reconcile.run`,
which also files a remedy action per finding."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import Response

from fapiao.auth import users as auth
from fapiao.reconcile import run as reconcile_run
from fapiao.reconcile.engine import CATEGORIES
from fapiao.web import charts, nav
from fapiao.web.app import lang_of, render
from fapiao.web.pages import read_upload
from fapiao.web.security import Caller, Problem, ledger_for, not_found, requires

router = APIRouter(include_in_schema=False)
Writer = Annotated[Caller, Depends(requires("write"))]
LABELS = {
    "missing_at_authority": ("平台缺失", "missing at authority"),
    "missing_in_ledger": ("台账缺失", "missing in ledger"),
    "mismatched": ("字段不一致", "mismatched"),
    "status_mismatch": ("状态不一致", "status mismatch"),
    "duplicates_at_authority": ("平台重复", "duplicates at authority"),
}
MAX_REPORTS = 200


def register(app: FastAPI) -> None:
    nav.add_page(nav.NavItem("/reconcile", "对账", "Reconcile", "write", order=40))
    app.state.reports = {}
    app.include_router(router)


@router.get("/reconcile")
def reconcile_page(request: Request, caller: Writer) -> Response:
    tenants = auth.tenant_names(ledger_for(request), caller.user)
    return render(request, "reconcile.html", {"tenants": tenants, "result": None})


@router.post("/reconcile")
async def reconcile_submit(
    request: Request,
    caller: Writer,
    export: UploadFile,
    tenant: Annotated[int, Form()],
    period: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    if not caller.user.sees(tenant):
        raise not_found()
    body = await read_upload(export)
    if body is None:
        raise Problem(413, "too_large", "文件过大", "file too large")
    work = Path(tempfile.mkdtemp(prefix="fapiao-reconcile-"))
    suffix = Path(export.filename or "export.xlsx").suffix.lower()
    source = work / ("export" + (suffix if suffix in (".xlsx", ".csv", ".xls") else ".xlsx"))
    source.write_bytes(body)
    led = ledger_for(request, caller.user)
    try:
        outcome = reconcile_run.run(
            led, tenant=str(tenant), period=period.strip() or None, authority=str(source)
        )
    except reconcile_run.UsageError as exc:
        raise Problem(422, "reconcile_usage", str(exc), str(exc)) from exc
    actions = reconcile_run.actions_index(led, tenant)
    rid = secrets.token_urlsafe(12)
    for fmt in ("xlsx", "html"):
        reconcile_run.write_report(outcome, work / f"report.{fmt}", actions)
    reports: dict[str, Any] = request.app.state.reports
    if len(reports) >= MAX_REPORTS:
        reports.pop(next(iter(reports)))
    reports[rid] = (caller.user.id, work)
    lang = lang_of(request)
    counts = {c: len(outcome.result.entries[c]) for c in CATEGORIES}
    chart = charts.bars(
        [LABELS.get(c, (c, c))[1 if lang == "en" else 0] for c in CATEGORIES],
        [charts.Series("findings" if lang == "en" else "差异", [counts[c] for c in CATEGORIES])],
        title="reconcile findings",
    )
    return render(
        request,
        "reconcile.html",
        {
            "tenants": auth.tenant_names(led, caller.user),
            "result": outcome.result,
            "json": outcome.result.to_json(),
            "counts": counts,
            "labels": LABELS,
            "chart": chart,
            "rid": rid,
            "file_findings": outcome.findings,
        },
    )


@router.get("/reconcile/report/{rid}.{fmt}")
def reconcile_report(request: Request, rid: str, fmt: str, caller: Writer) -> Response:
    found = request.app.state.reports.get(rid)
    if found is None or found[0] != caller.user.id or fmt not in ("xlsx", "html"):
        raise not_found()
    body = (found[1] / f"report.{fmt}").read_bytes()
    media = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "html": "text/html; charset=utf-8",
    }[fmt]
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f"attachment; filename=reconcile-report.{fmt}",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        },
    )
