"""The reconcile page: upload the platform's export (全量发票查询) for one granted tenant and period,
see the findings with a chart, download the report (xlsx or HTML). Runs `fapiao.reconcile.run`,
which also files a remedy action per finding. A result that would close more than half the open
actions is applied only after the person confirms it (`/reconcile/confirm`).

The upload is copied into the run's folder `fapiao-reconcile-<id>` in the temp directory by a
thread; the reconcile and its reports run in a child process (`fapiao.reconcile.pages_job`), which
deletes the upload once read; the reports stay for download. A folder goes when the run fails,
when it is older than `FAPIAO_WEB_REPORT_TTL_S` (3600), when more than `MAX_REPORTS` are kept, and
when the server stops. The folder names its owner, so any worker process can serve the download.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response

from fapiao.auth import users as auth
from fapiao.reconcile import pages_job as reconcile_job
from fapiao.web import jobs, uploads
from fapiao.web.security import Caller, ledger_for, not_found, requires
from fapiao.web.templating import lang_of, render

jobs.preload(reconcile_job.__name__)  # its `reconcile` runs in a job's own process

router = APIRouter(include_in_schema=False)
Writer = Annotated[Caller, Depends(requires("write"))]
MAX_REPORTS = 200
PREFIX = "fapiao-reconcile-"
TTL_S = float(os.environ.get("FAPIAO_WEB_REPORT_TTL_S", "3600"))
EXPORT_CAP = uploads.MAX_REQUEST_BYTES
_RID = re.compile(r"^[A-Za-z0-9_-]{16}$")
_mine: set[Path] = set()  # folders this process made, removed when it exits


def install(app: FastAPI) -> None:
    """What the router cannot carry: removing this server's report folders when it stops."""
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
            remove(path)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    _mine.discard(path)


@atexit.register
def _remove_mine() -> None:
    jobs.stop_all()  # a reconcile still running cleans up its own folder, or stops writing to it
    for path in list(_mine):
        remove(path)


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
    # plain I/O of a file the request has already spooled: a thread of its own, so that the job's
    # one place in the pool is taken once, by the child process
    source = await asyncio.to_thread(receive, caller.user.id, export, suffix)
    return await _run(request, caller, tenant, period.strip(), source, confirmed=False)


async def _run(
    request: Request, caller: Caller, tenant: int, period: str, source: Path, *, confirmed: bool
) -> Response:
    led = ledger_for(request, caller.user)
    url = led.engine.url.render_as_string(hide_password=False)
    try:  # in a child process: the server's interpreter stays free for other requests
        view = await jobs.run_in_process(
            reconcile_job.reconcile,
            url,
            led.actor,
            tenant,
            period or None,
            str(source),
            lang_of(request),
            confirmed,
        )
    except BaseException:  # refused, over its budget, called off: the folder goes
        remove(source.parent)
        raise
    view["rid"] = source.parent.name.removeprefix(PREFIX)
    view["tenants"] = auth.tenant_names(led, caller.user)
    if "confirm" in view:  # nothing applied yet: the page asks, the upload waits
        view |= {"result": None, "tenant": tenant, "period": period}
    return render(request, "reconcile.html", view)


@router.post("/reconcile/confirm")
async def reconcile_confirm(
    request: Request,
    caller: Writer,
    rid: Annotated[str, Form(max_length=16)],
    tenant: Annotated[int, Form()],
    period: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    """The person confirmed a result that closes more than half the open actions: apply it."""
    if not caller.user.sees(tenant) or not _RID.match(rid):
        raise not_found()
    work = _root() / (PREFIX + rid)
    try:
        owner = (work / "owner").read_text()
    except OSError:
        raise not_found() from None
    sources = sorted(work.glob("export.*"))
    if owner != str(caller.user.id) or not sources:
        raise not_found()
    return await _run(request, caller, tenant, period.strip(), sources[0], confirmed=True)


def receive(user_id: int, export: UploadFile, suffix: str) -> Path:
    """The run's folder, with its owner and the upload copied in from the spooled file."""
    sweep()
    work = _root() / (PREFIX + secrets.token_urlsafe(12))
    work.mkdir(mode=0o700)
    _mine.add(work)
    try:
        (work / "owner").write_text(str(user_id))
        source = work / (
            "export" + (suffix if suffix in (".xlsx", ".csv", ".xls", ".zip") else ".xlsx")
        )
        uploads.save(export, source)
    except BaseException:
        remove(work)
        raise
    return source


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
