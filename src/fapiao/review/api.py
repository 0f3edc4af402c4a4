"""The review queue's API: list and read items in the caller's tenants, accept with corrections,
reject with a reason (refusals are 422 with the findings). Declared by `fapiao.review.plugin`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from fapiao.review import queue
from fapiao.review.pages import ItemId, Reader, Writer, item_in_scope, scope
from fapiao.review.resolve import Result, accept, reject
from fapiao.web.api import ERRORS, Error
from fapiao.web.security import ledger_for

router = APIRouter(prefix="/api/v1", tags=["review"], responses=ERRORS)


class ReviewItem(BaseModel):
    id: str
    file: str
    sha256: str
    state: str
    created_at: str
    fields: dict[str, dict[str, Any]] = Field(description="path -> {value, source, confidence}")
    findings: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    resolved_at: str
    resolved_by: str
    reason: str
    invoice_ids: list[str]


class AcceptIn(BaseModel):
    set: dict[str, str] = Field(
        default_factory=dict,
        max_length=2000,
        description='corrections: {path: value}, e.g. {"total": "113.00", "items[1].amount": "100.00"}',
    )
    authority: list[str] = Field(
        default_factory=list, max_length=2000, description="paths whose value came from 查验"
    )


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


class ResultOut(BaseModel):
    id: str
    ok: bool
    findings: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]


@router.get("/review", response_model=list[ReviewItem])
def api_list(
    request: Request,
    caller: Reader,
    state: Annotated[str, Query(pattern="^(open|accepted|rejected|all)$")] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list[dict[str, Any]]:
    """Items of the review queue in the caller's tenants: file, the fields read, findings."""
    tax_ids, _ = scope(request, caller)
    items = queue.list_items(
        request.app.state.engine,
        state=None if state == "all" else state,
        tax_ids=tax_ids,
        limit=limit,
        after=after,
    )
    return [i.to_json() for i in items]


@router.get("/review/{item_id}", response_model=ReviewItem)
def apiitem_in_scope(request: Request, item_id: ItemId, caller: Reader) -> dict[str, Any]:
    return item_in_scope(request, caller, item_id).to_json()


def _answer(result: Result) -> Response:
    import orjson

    body = orjson.dumps(result.to_json())
    return Response(body, status_code=200 if result.ok else 422, media_type="application/json")


@router.post(
    "/review/{item_id}/accept",
    response_model=ResultOut,
    responses={422: {"model": ResultOut | Error, "description": "refused: the findings say why"}},
)
def api_accept(request: Request, item_id: ItemId, body: AcceptIn, caller: Writer) -> Response:
    """Accept with corrections: validated again, recorded as an import records it."""
    item_in_scope(request, caller, item_id)
    tax_ids, tenants = scope(request, caller)
    came = set(body.authority)
    values = {p: (v, "authority" if p in came else "user") for p, v in body.set.items()}
    return _answer(
        accept(
            ledger_for(request, caller.user),
            item_id,
            values,
            tax_ids=tax_ids,
            tenants=tenants,
        )
    )


@router.post(
    "/review/{item_id}/reject",
    response_model=ResultOut,
    responses={422: {"model": ResultOut | Error, "description": "refused: the findings say why"}},
)
def api_reject(request: Request, item_id: ItemId, body: RejectIn, caller: Writer) -> Response:
    item_in_scope(request, caller, item_id)
    tax_ids, _ = scope(request, caller)
    return _answer(reject(ledger_for(request, caller.user), item_id, body.reason, tax_ids=tax_ids))
