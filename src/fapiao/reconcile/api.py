"""The remedies' API for scripts: carry out an action's remedy, and (four eyes) approve one another
person requested. The same library calls as `fapiao actions do|approve`; a refusal (closed, nothing
to approve, the requester approving) is 409 with its finding's code (`four_eyes`, `state`).
The pages for actions are not here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from fapiao.reconcile import approval, remedies
from fapiao.web.api import ERRORS
from fapiao.web.security import Caller, ledger_for, not_found, requires

router = APIRouter(prefix="/api/v1", tags=["reconcile"], responses=ERRORS)
Writer = Annotated[Caller, Depends(requires("write"))]
ActionId = Annotated[int, Path(ge=1, le=2**62)]


class PerformedOut(BaseModel):
    action_id: int
    remedy: str
    state: str
    message: str
    letter: str
    invoice_id: str


def _in_scope(request: Request, caller: Caller, action_id: int) -> None:
    found = remedies.get_action(request.app.state.engine, action_id)
    if found is None or not caller.user.sees(int(found["tenant_id"])):
        raise not_found()


@router.post("/actions/{action_id}/do", response_model=PerformedOut)
def api_do(request: Request, action_id: ActionId, caller: Writer) -> dict[str, Any]:
    """Carry out the remedy, or file it for a second person when the tenant asks for four eyes."""
    _in_scope(request, caller, action_id)
    return asdict(remedies.perform(ledger_for(request, caller.user), action_id))


@router.post("/actions/{action_id}/approve", response_model=PerformedOut)
def api_approve(request: Request, action_id: ActionId, caller: Writer) -> dict[str, Any]:
    """Four eyes: approve a remedy someone else requested; it is carried out under your name."""
    _in_scope(request, caller, action_id)
    return asdict(approval.approve(ledger_for(request, caller.user), action_id))
