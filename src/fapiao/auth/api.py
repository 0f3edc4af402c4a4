"""REST API for user administration under /api/v1/users: users, roles, grants, disabling, API
tokens. Only an admin of every tenant may call it (403 `ledger_wide` for an admin of some tenants,
who could otherwise make a ledger-wide user). Every change is an event; taking access away applies
at once (`fapiao.auth.cache`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from fapiao.auth import users as auth
from fapiao.web.api import ERRORS, UserAdmin
from fapiao.web.security import Caller, Problem, ledger_for

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["fapiao"])

Role = Literal["admin", "accountant", "auditor", "viewer", "support"]


class UserIn(BaseModel):
    name: str = Field(pattern=r"^\S{1,100}$")
    password: str = Field(min_length=8, max_length=1000)
    role: Role
    tenants: list[str] = Field(default_factory=list, max_length=1000)


class UserOut(BaseModel):
    name: str
    role: str
    tenants: list[int]
    locked_until: str
    disabled: bool


class Grants(BaseModel):
    tenants: list[str] = Field(max_length=1000)


class RoleIn(BaseModel):
    role: Role


class TokenIn(BaseModel):
    label: str = Field(default="script", max_length=100)
    days: int = Field(default=90, ge=1, le=3650, description="lifetime in days")


class TokenOut(BaseModel):
    id: int
    label: str
    created_at: str
    expires_at: str
    last_used_at: str = Field(description="UTC, to the minute; empty: never used")
    revoked_at: str
    active: bool


class NewToken(TokenOut):
    token: str = Field(description="shown once; only its SHA-256 is kept")


def _user_problem(exc: auth.AuthError) -> Problem:
    status = {"no_user": 404, "no_token": 404, "exists": 409, "not_yourself": 403}
    return Problem(status.get(exc.code, 422), exc.code, exc.zh, exc.en)


def _change_user(request: Request, caller: Caller, fn: Any, name: str, *args: Any) -> Any:
    led = ledger_for(request, caller.user)
    try:
        if fn in (auth.set_role, auth.set_disabled) and name == caller.user.name:
            raise auth.not_yourself()
        return fn(led, name, *args)
    except auth.AuthError as exc:
        raise _user_problem(exc) from exc


def _user_out(request: Request, name: str) -> dict[str, Any]:
    try:
        return auth.get_user(ledger_for(request), name)
    except auth.AuthError as exc:
        raise _user_problem(exc) from exc


@router.get("/users", response_model=list[UserOut])
def users(request: Request, caller: UserAdmin) -> list[dict[str, Any]]:
    return auth.list_users(ledger_for(request))


@router.post("/users", response_model=UserOut, status_code=201)
def user_add(request: Request, body: UserIn, caller: UserAdmin) -> dict[str, Any]:
    led = ledger_for(request, caller.user)
    try:
        auth.add_user(
            led, name=body.name, password=body.password, role=body.role, tenants=body.tenants
        )
    except auth.AuthError as exc:
        raise _user_problem(exc) from exc
    return _user_out(request, body.name.strip())


@router.put("/users/{name}/grants", response_model=UserOut)
def user_grants(request: Request, name: str, body: Grants, caller: UserAdmin) -> dict[str, Any]:
    _change_user(request, caller, auth.set_grants, name, body.tenants)
    return _user_out(request, name)


@router.put("/users/{name}/role", response_model=UserOut)
def user_role(request: Request, name: str, body: RoleIn, caller: UserAdmin) -> dict[str, Any]:
    """Change the role; sessions and tokens of the user carry it at once (an event)."""
    _change_user(request, caller, auth.set_role, name, body.role)
    return _user_out(request, name)


@router.post("/users/{name}/disable", response_model=UserOut)
def user_disable(request: Request, name: str, caller: UserAdmin) -> dict[str, Any]:
    """No more logins; the user's sessions end and their tokens are refused at once."""
    _change_user(request, caller, auth.set_disabled, name, True)
    return _user_out(request, name)


@router.post("/users/{name}/enable", response_model=UserOut)
def user_enable(request: Request, name: str, caller: UserAdmin) -> dict[str, Any]:
    _change_user(request, caller, auth.set_disabled, name, False)
    return _user_out(request, name)


@router.get("/users/{name}/tokens", response_model=list[TokenOut])
def user_tokens(request: Request, name: str, caller: UserAdmin) -> list[dict[str, Any]]:
    """The user's API tokens (never the tokens themselves): expiry, last use, revocation."""
    return _change_user(request, caller, auth.list_tokens, name)  # type: ignore[no-any-return]


@router.post("/users/{name}/tokens", response_model=NewToken, status_code=201)
def user_token_new(request: Request, name: str, body: TokenIn, caller: UserAdmin) -> dict[str, Any]:
    """A new API token for the user, shown once in the answer."""
    token = _change_user(request, caller, auth.create_token, name, body.label, body.days)
    newest = auth.list_tokens(ledger_for(request), name)[0]
    return {**newest, "token": token}


@router.delete("/users/{name}/tokens/{token_id}", response_model=TokenOut)
def user_token_revoke(
    request: Request,
    name: str,
    token_id: Annotated[int, Path(ge=0, le=2**62)],
    caller: UserAdmin,
) -> dict[str, Any]:
    """Revoke one token; refused at once by every process of this server."""
    _change_user(request, caller, auth.revoke_tokens, name, token_id)
    return next(t for t in auth.list_tokens(ledger_for(request), name) if t["id"] == token_id)
