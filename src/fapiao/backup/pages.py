"""The backups in the browser (`/backups`) and the API (`GET /api/v1/backups`): per target the last
backup and the last good one, the last restore drill, and a warning when either is older than the
self-check's thresholds (`FAPIAO_CHECK_BACKUP_WARN_H`, `…_FAIL_H`, `…_DRILL_WARN_DAYS`).

Backups cover every company's data, so any signed-in reader sees when they ran (not what they
hold). Declared by `fapiao.backup.plugin`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fapiao.backup.tables import per_target
from fapiao.ops.checks import Settings, ago
from fapiao.web.security import Caller, requires
from fapiao.web.templating import lang_of, render

router = APIRouter(include_in_schema=False)
Reader = Annotated[Caller, Depends(requires("read"))]
WORDS = {
    "ok": ("正常", "fine"),
    "warn": ("注意", "warning"),
    "fail": ("过旧", "too old"),
    "failed": ("失败", "failed"),
    "none": ("从未", "never"),
}


def _age_s(at: str, now: dt.datetime) -> int:
    return int((now - dt.datetime.fromisoformat(at)).total_seconds())


def status(now: dt.datetime | None = None, engine: Any = None) -> dict[str, Any]:
    """Every target with ages and levels (ok / warn / fail / failed / none), and the thresholds."""
    now = now or dt.datetime.now(dt.UTC)
    s = Settings.from_env()
    targets = []
    for slot in per_target(engine):
        good, drill = slot["last_good"], slot["last_drill"]
        item: dict[str, Any] = {
            "target": slot["target"],
            **{k: slot[k] for k in ("last_backup", "last_good", "last_drill")},
        }
        if good is None:
            item["backup_level"], item["backup_age_s"] = "none", None
        else:
            age = _age_s(good["at"], now)
            item["backup_age_s"] = age
            item["backup_level"] = (
                "fail"
                if age > s.backup_fail_h * 3600
                else "warn"
                if age > s.backup_warn_h * 3600
                else "ok"
            )
        if drill is None:
            item["drill_level"], item["drill_age_s"] = "none", None
        else:
            age = _age_s(drill["at"], now)
            item["drill_age_s"] = age
            item["drill_level"] = (
                "failed"
                if drill["status"] != "ok"
                else "warn"
                if age > s.drill_warn_days * 86400
                else "ok"
            )
        targets.append(item)
    return {
        "targets": targets,
        "thresholds": {
            "backup_warn_h": s.backup_warn_h,
            "backup_fail_h": s.backup_fail_h,
            "drill_warn_days": s.drill_warn_days,
        },
    }


@router.get("/backups")
def backups_page(request: Request, caller: Reader) -> Response:
    found = status(engine=request.app.state.engine)
    lang = lang_of(request)
    return render(request, "backups.html", found | {"words": WORDS, "ago": lambda s: ago(s, lang)})
