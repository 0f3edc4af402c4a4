"""`GET /api/v1/backups`: per target the last backup, the last good one, the last drill, with their
ages and levels against the self-check's thresholds (as the `/backups` page shows them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from fapiao.backup.pages import Reader, status
from fapiao.web.api import ERRORS

router = APIRouter(prefix="/api/v1", tags=["backup"], responses=ERRORS)


class Target(BaseModel):
    target: str
    last_backup: dict[str, Any] | None
    last_good: dict[str, Any] | None
    last_drill: dict[str, Any] | None
    backup_age_s: int | None = Field(description="seconds since the last good backup")
    backup_level: str = Field(description="ok / warn / fail / none")
    drill_age_s: int | None
    drill_level: str = Field(description="ok / warn / failed / none")


class Backups(BaseModel):
    targets: list[Target]
    thresholds: dict[str, float]


@router.get("/backups", response_model=Backups)
def api_backups(request: Request, caller: Reader) -> dict[str, Any]:
    """Per backup target: the last backup, the last good one, the last drill, with their ages."""
    return status(engine=request.app.state.engine)
