"""/schedule: the administrator sees every schedule, its last run and result, and the next run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fapiao.schedule import jobs, runner
from fapiao.web.security import Caller, requires
from fapiao.web.templating import render

router = APIRouter(include_in_schema=False)
Admin = Annotated[Caller, Depends(requires("admin", ledger_wide=True))]


@router.get("/schedule")
def schedule_page(request: Request, caller: Admin) -> Response:
    rows = runner.listing(request.app.state.engine)
    names = {k: (zh, en) for k, (zh, en, _) in jobs.JOBS.items()}
    return render(request, "schedule.html", {"rows": rows, "names": names})
