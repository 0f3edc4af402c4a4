"""The reconcile page: upload the platform's export (全量发票查询) for one granted tenant and period,
see the findings with a chart, download the report (xlsx or HTML). Runs `fapiao.reconcile.run`,
which also files a remedy action per finding.

The reconcile and its reports run as a job (`fapiao.web.jobs`), off the event loop. Each run has a
folder `fapiao-reconcile-<id>` in the temp directory: the upload is copied there from the spooled
file, read, and deleted once read; the reports stay for download. A folder goes when the run fails,
when it is older than `FAPIAO_WEB_REPORT_TTL_S` (3600), when more than `MAX_REPORTS` are kept, and
when the server stops. The folder names its owner, so any worker process can serve the download.
"""

from __future__ import annotations

import atexit
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response

from fapiao.auth import users as auth
from fapiao.ledger.store import Ledger
from fapiao.reconcile import run as reconcile_run
from fapiao.reconcile.engine import CATEGORIES
from fapiao.web import charts, jobs, nav, uploads
from fapiao.web.app import lang_of, render
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
SHOWN = 100  # findings listed on the page per category; the reports hold them all
PREFIX = "fapiao-reconcile-"
TTL_S = float(os.environ.get("FAPIAO_WEB_REPORT_TTL_S", "3600"))
EXPORT_CAP = uploads.MAX_REQUEST_BYTES
_RID = re.compile(r"^[A-Za-z0-9_-]{16}$")
_mine: set[Path] = set()  # folders this process made, removed when it exits


def register(app: FastAPI) -> None:
    nav.add_page(nav.NavItem("/reconcile", "对账", "Reconcile", "write", order=40))
    app.include_router(router)
    app.router.on_shutdown.append(
        _remove_mine
    )  # uvicorn ends a SIGTERM by re-raising it: no atexit
    sweep()  # folders a killed server left behind


def _root() -> Path:
    return Path(tempfile.gettempdir())


def sweep(now: float | None = None) -> None:
    """Remove report folders past their time, and the oldest beyond `MAX_REPORTS`."""
    now = time.time() if now is None else now
    folders = []
    for path in _root().glob(PREFIX + "*"):
        try:
            folders.append((path.stat().st_mtime, path))
        except OSError:
            continue
    folders.sort()
    for n, (mtime, path) in enumerate(folders):
        if now - mtime > TTL_S or len(folders) - n > MAX_REPORTS:
            _remove(path)


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _mine.discard(path)


@atexit.register
def _remove_mine() -> None:
    jobs.stop_all()  # a reconcile still running cleans up its own folder, or stops writing to it
    for path in list(_mine):
        _remove(path)


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
    uploads.check(export, EXPORT_CAP)
    suffix = Path(export.filename or "export.xlsx").suffix.lower()
    led = ledger_for(request, caller.user)
    view = await jobs.run(
        _run, led, caller.user.id, tenant, period.strip() or None, export, suffix, lang_of(request)
    )
    view["tenants"] = auth.tenant_names(led, caller.user)
    return render(request, "reconcile.html", view)


def _run(
    led: Ledger,
    user_id: int,
    tenant: int,
    period: str | None,
    export: UploadFile,
    suffix: str,
    lang: str,
) -> dict[str, Any]:
    """The job: copy the upload, reconcile, write both reports; the page's context."""
    sweep()
    rid = secrets.token_urlsafe(12)
    work = _root() / (PREFIX + rid)
    work.mkdir(mode=0o700)
    _mine.add(work)
    try:
        (work / "owner").write_text(str(user_id))
        source = work / ("export" + (suffix if suffix in (".xlsx", ".csv", ".xls") else ".xlsx"))
        uploads.save(export, source)
        try:
            outcome = reconcile_run.run(
                led, tenant=str(tenant), period=period, authority=str(source)
            )
        except reconcile_run.Refused as exc:  # the wrong list: nothing was recorded
            reason = exc.finding
            raise Problem(422, reason.code, reason.message, reason.message_en) from exc
        except reconcile_run.UsageError as exc:
            raise Problem(422, "reconcile_usage", str(exc), str(exc)) from exc
        finally:
            source.unlink(missing_ok=True)  # the upload is read: only the reports stay
        actions = reconcile_run.actions_index(led, tenant)
        for fmt in ("xlsx", "html"):
            reconcile_run.write_report(outcome, work / f"report.{fmt}", actions)
    except BaseException:
        _remove(work)
        raise
    counts = {c: len(outcome.result.entries[c]) for c in CATEGORIES}
    summary = {
        "ledger_count": outcome.result.ledger_count,
        "authority_count": outcome.result.authority_count,
        "matched": outcome.result.matched,
    }
    shown = {c: [e.to_json() for e in outcome.result.entries[c][:SHOWN]] for c in CATEGORIES}
    chart = charts.bars(
        [LABELS.get(c, (c, c))[1 if lang == "en" else 0] for c in CATEGORIES],
        [charts.Series("findings" if lang == "en" else "差异", [counts[c] for c in CATEGORIES])],
        title="reconcile findings",
    )
    return {
        "result": True,
        "json": summary | shown,
        "counts": counts,
        "labels": LABELS,
        "chart": chart,
        "rid": rid,
        "file_findings": outcome.findings[:SHOWN],
    }


@router.get("/reconcile/report/{rid}.{fmt}")
def reconcile_report(request: Request, rid: str, fmt: str, caller: Writer) -> Response:
    if not _RID.match(rid) or fmt not in ("xlsx", "html"):
        raise not_found()
    work = _root() / (PREFIX + rid)
    try:
        owner = (work / "owner").read_text()
    except OSError:
        raise not_found() from None
    report = work / f"report.{fmt}"
    if owner != str(caller.user.id) or not report.is_file():
        raise not_found()
    media = {
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "html": "text/html; charset=utf-8",
    }[fmt]
    return FileResponse(
        report,
        media_type=media,
        headers={
            "Content-Disposition": f"attachment; filename=reconcile-report.{fmt}",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        },
    )
