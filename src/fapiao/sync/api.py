"""`GET /api/v1/outbox`: the outbox entries not done yet in the caller's companies, each with its
group (queued / in_flight / parked) and the platform's reason. Declared by `fapiao.sync.plugin`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from fapiao.sync import manage
from fapiao.sync.pages import Reader
from fapiao.web.api import ERRORS

router = APIRouter(prefix="/api/v1", tags=["sync"], responses=ERRORS)


class OutboxEntry(BaseModel):
    id: str
    invoice_id: str
    tenant_id: int
    op: str
    state: str
    group: str
    attempts: int
    waiting_s: int
    reason: str
    identity_key: str
    number: str
    total: int
    created_at: str
    updated_at: str


@router.get("/outbox", response_model=list[OutboxEntry])
def api_outbox(
    request: Request,
    caller: Reader,
    group: Literal["queued", "in_flight", "parked"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict[str, Any]]:
    """What waits to reach the tax platform (`total` in fen)."""
    rows = manage.entries(request.app.state.engine, caller.user.tenants, limit=limit)
    return [r for r in rows if group is None or r["group"] == group]
